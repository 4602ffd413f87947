"""Numbers reported by seed 003 (van der Ouderaa, "Quantitatively understanding recurrent
networks"), transcribed from its text so our tables (rnnscope.seed_tables) can show them beside
ours. What seeds 001/002 (RNNVis) say about their Yelp sentiment GRU (quotes, no numbers) is in
rnnscope.sentiment_views, the one module that shows it.

Keys are (dataset, cell) as named in config/config.yaml: ``linux`` (Karpathy's kernel corpus,
Figures 3 and 4) and ``tinyshakespeare`` (Figures 5 and 6). Each probe value is
(linear fit, balanced linear fit), the seed's "plain/balanced" cell; the seed probes 500-char
texts generated at temperature 0.8 and does not say which layer or state it reads.
"""

from __future__ import annotations

Pair = tuple[float, float]

# Section 4: test-set "perplexity" of each model (see seed_tables.perplexity_table on its scale).
SEED003_PERPLEXITY: dict[tuple[str, str], float] = {
    ("linux", "lstm"): 2.23,
    ("linux", "gru"): 2.29,
    ("tinyshakespeare", "lstm"): 2.55,
    ("tinyshakespeare", "gru"): 2.68,
}

# Our hypothesis name -> the seed's row label. Figure 5 says "Capitalized word", Figure 6
# "Capitalized words": one name here. inside_quotes is the code set's "inside a string or char
# literal" and char_text's "inside double quotes"; the seed reports it for Linux only.
SEED003_HYPOTHESES: dict[str, str] = {
    "inside_parentheses": "Inside parentheses",
    "inside_quotes": "Inside quotation",
    "inside_comment": "Comments",
    "indent_gt_1": "Indent Level > 1",
    "indent_gt_2": "Indent Level > 2",
    "indent_gt_3": "Indent Level > 3",
    "capitalized_word": "Capitalized word",
    "verb": "Verbs",
    "noun": "Nouns",
}

SEED003_METRICS = ("accuracy", "precision", "recall", "f1")

# (dataset, cell) -> seed row label -> metric -> (plain, balanced).
SEED003_PROBES: dict[tuple[str, str], dict[str, dict[str, Pair]]] = {
    # Figure 3: Linux source code, LSTM. The seed prints "0.98/98" for Indent Level > 3's
    # balanced accuracy; read as 0.98.
    ("linux", "lstm"): {
        "Inside parentheses": {
            "accuracy": (0.98, 0.97),
            "precision": (0.95, 0.95),
            "recall": (0.96, 0.98),
            "f1": (0.96, 0.96),
        },
        "Inside quotation": {
            "accuracy": (0.99, 0.99),
            "precision": (0.84, 0.82),
            "recall": (0.91, 0.93),
            "f1": (0.87, 0.87),
        },
        "Comments": {"accuracy": (0.99, 0.98), "precision": (0.97, 0.90), "recall": (0.95, 0.93), "f1": (0.96, 0.91)},
        "Indent Level > 1": {
            "accuracy": (0.94, 0.98),
            "precision": (0.98, 0.99),
            "recall": (0.98, 0.97),
            "f1": (0.98, 0.98),
        },
        "Indent Level > 2": {
            "accuracy": (0.97, 0.98),
            "precision": (0.97, 0.93),
            "recall": (0.94, 0.97),
            "f1": (0.95, 0.95),
        },
        "Indent Level > 3": {
            "accuracy": (0.98, 0.98),
            "precision": (0.93, 0.84),
            "recall": (0.90, 0.93),
            "f1": (0.91, 0.88),
        },
    },
    # Figure 4: Linux source code, GRU.
    ("linux", "gru"): {
        "Inside parentheses": {
            "accuracy": (0.96, 0.94),
            "precision": (0.93, 0.88),
            "recall": (0.96, 0.91),
            "f1": (0.94, 0.90),
        },
        "Comments": {"accuracy": (0.95, 0.93), "precision": (0.92, 0.94), "recall": (0.84, 0.75), "f1": (0.88, 0.83)},
        "Inside quotation": {
            "accuracy": (0.99, 0.99),
            "precision": (0.73, 0.84),
            "recall": (0.81, 0.99),
            "f1": (0.77, 0.91),
        },
        "Indent Level > 1": {
            "accuracy": (0.95, 0.92),
            "precision": (0.97, 0.93),
            "recall": (0.97, 0.97),
            "f1": (0.97, 0.95),
        },
        "Indent Level > 2": {
            "accuracy": (0.96, 0.93),
            "precision": (0.93, 0.95),
            "recall": (0.96, 0.88),
            "f1": (0.95, 0.91),
        },
        "Indent Level > 3": {
            "accuracy": (0.96, 0.94),
            "precision": (0.67, 0.83),
            "recall": (0.61, 0.84),
            "f1": (0.63, 0.84),
        },
    },
    # Figure 5: Tiny Shakespeare, LSTM.
    ("tinyshakespeare", "lstm"): {
        "Capitalized word": {
            "accuracy": (1.00, 0.99),
            "precision": (0.97, 0.90),
            "recall": (0.99, 1.0),
            "f1": (0.98, 0.95),
        },
        "Verbs": {"accuracy": (0.80, 0.74), "precision": (0.68, 0.26), "recall": (0.29, 0.66), "f1": (0.40, 0.38)},
        "Nouns": {"accuracy": (0.81, 0.80), "precision": (0.72, 0.68), "recall": (0.63, 0.75), "f1": (0.67, 0.72)},
    },
    # Figure 6: Tiny Shakespeare, GRU.
    ("tinyshakespeare", "gru"): {
        "Capitalized word": {
            "accuracy": (1.00, 0.99),
            "precision": (0.99, 0.99),
            "recall": (1.0, 1.0),
            "f1": (0.99, 1.00),
        },
        "Verbs": {"accuracy": (0.78, 0.76), "precision": (0.68, 0.59), "recall": (0.59, 0.73), "f1": (0.63, 0.65)},
        "Nouns": {"accuracy": (0.91, 0.77), "precision": (0.49, 0.24), "recall": (0.18, 0.81), "f1": (0.26, 0.37)},
    },
}


def seed_probe_value(dataset: str, cell: str, hypothesis: str, metric: str) -> Pair | None:
    """The seed's (plain, balanced) value for our ``hypothesis`` on this dataset and cell, if reported."""
    name = SEED003_HYPOTHESES.get(hypothesis)
    return SEED003_PROBES.get((dataset, cell), {}).get(name or "", {}).get(metric)
