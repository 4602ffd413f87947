window.RNNSCOPE_LIVE = null;  // replaced by `python -m rnnscope.explorer serve` with the live models
