"""rnnscope.dependencies: module closures and the reruns table read from a filegraph."""

from __future__ import annotations

import pytest

from rnnscope.dependencies import rerun_table, rules_by_module

# Two nodes as `snakemake --filegraph` writes them (trimmed): a rule's name, then its files.
FILEGRAPH = """
0 [ label=<<table><tr><td><b><font point-size="18">probe</font></b></td></tr>
<tr><td><font face="monospace">src/rnnscope/probes.py</font></td></tr>
<tr><td><font face="monospace">src/rnnscope/logs.py</font></td></tr>
<tr><td><font face="monospace">results/probes/m/metrics.csv</font></td></tr></table>>]
1 [ label=<<table><tr><td><b><font point-size="18">train</font></b></td></tr>
<tr><td><font face="monospace">src/rnnscope/logs.py</font></td></tr>
<tr><td><font face="monospace">src/rnnscope/train.py</font></td></tr></table>>]
"""


def test_each_module_maps_to_the_rules_listing_it() -> None:
    assert rules_by_module(FILEGRAPH) == {"logs": ["probe", "train"], "probes": ["probe"], "train": ["train"]}


def test_table_has_a_row_per_module() -> None:
    rows = [line for line in rerun_table(FILEGRAPH).splitlines() if line.startswith("| `")]
    assert rows == ["| `logs` | probe, train |", "| `probes` | probe |", "| `train` | train |"]


def test_modules_hidden_in_an_input_function_are_refused() -> None:
    node = '<b><font point-size="18">counting_analysis</font></b><font face="monospace">&lt;function counting_inputs at 0x7f&gt;</font>'
    with pytest.raises(ValueError, match="counting_analysis.*static `code=code"):
        rules_by_module(node)
