"""Which package modules a module depends on, so the workflow can rerun exactly what an edit affects.

Snakemake's code trigger sees only a rule's script, not the package modules the script calls;
rules list the closure of their entry module's ``rnnscope`` imports as inputs instead.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

PACKAGE = "rnnscope"


def direct_imports(source: Path) -> set[str]:
    """Names of the ``rnnscope`` modules that ``source`` imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == PACKAGE:
            parts = node.module.split(".")
            if len(parts) > 1:
                names.add(parts[1])
            else:  # from rnnscope import x
                names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[1] for a in node.names if a.name.startswith(PACKAGE + "."))
    return names


def module_closure(package_dir: str | Path, *modules: str) -> list[str]:
    """Paths of ``modules`` and every package module they import, transitively, sorted."""
    package_dir = Path(package_dir)
    seen: set[str] = set()
    pending = list(modules)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        path = package_dir / f"{name}.py"
        if not path.exists():
            raise ValueError(f"{path} does not exist: no package module {name!r}")
        seen.add(name)
        pending.extend(direct_imports(path) - seen)
    return sorted(str(package_dir / f"{name}.py") for name in seen)


# One node per rule in `snakemake --filegraph`: its name in a bold 18-point font, then its files.
_NODE = re.compile(r'<b><font point-size="18">(\w+)</font></b>(.*?)(?=<b><font point-size="18">|\Z)', re.S)
_MODULE = re.compile(rf"src/{PACKAGE}/(\w+)\.py")


def rules_by_module(filegraph: str) -> dict[str, list[str]]:
    """Package module -> the rules that list it as an input (so rerun when it is edited), read
    from the text of ``snakemake --filegraph``."""
    rules: dict[str, set[str]] = {}
    for rule, files in _NODE.findall(filegraph):
        if "&lt;function" in files and not _MODULE.search(files):
            raise ValueError(
                f"rule {rule}'s package modules are hidden in an input function (--filegraph shows <function ...>):"
                " give it a static `code=code(...)` input"
            )
        for module in _MODULE.findall(files):
            rules.setdefault(module, set()).add(rule)
    return {module: sorted(rules[module]) for module in sorted(rules)}


def rerun_table(filegraph: str) -> str:
    """docs/reruns.md: each package module and the rules an edit to it reruns."""
    lines = [
        "# What an edit reruns",
        "",
        "Each rule lists the package modules its script runs, and what they import, as inputs",
        "(`code(...)` in `workflow/rules/common.smk`), so editing a module reruns exactly these rules",
        "of the default run and what depends on their outputs. Generated from",
        "`snakemake --filegraph | python -m rnnscope.dependencies > docs/reruns.md`; a test checks it.",
        "The download rules list no code on purpose: their outputs are checked against pinned sha256",
        "sums, so a code edit cannot change them and should not fetch the data again.",
        "",
        "| module | rules that rerun when it is edited |",
        "| --- | --- |",
    ]
    lines += [f"| `{module}` | {', '.join(rules)} |" for module, rules in rules_by_module(filegraph).items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(rerun_table(sys.stdin.read()))
