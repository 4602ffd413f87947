"""Which package modules a module depends on, so the workflow can rerun exactly what an edit affects.

Snakemake's code trigger sees only a rule's script, not the package modules the script calls;
rules list the closure of their entry module's ``rnnscope`` imports as inputs instead.
"""

from __future__ import annotations

import ast
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
