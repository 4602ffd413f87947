"""rnnscope: train recurrent networks and open them up."""

__version__ = "0.1.0"
