"""A plain ``pip install .`` must be enough to run the code: every runtime import is declared.

The same check as the team's check_runtime_deps tool, as a test: walk every
import in the runtime packages, map each third-party module to the
distribution that installs it, and require that distribution in
``[project.dependencies]``. Extras do not count; the one exception is GNU
Backgammon's module, which exists only inside gnubg's own Python.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ("events", "services", "projections", "tools")

# module -> (why it is not a dependency, the files allowed to import it lazily)
OPTIONAL = {
    "gnubg": ("GNU Backgammon's embedded Python", {"services/drills/gnubg_worker.py"}),
}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    deps = meta["project"]["dependencies"]
    return {_norm(re.split(r"[\s<>=!~;\[]", d, maxsplit=1)[0]) for d in deps}


def _imports(tree: ast.Module) -> list[tuple[str, int, bool]]:
    """(top-level module, line, imported at module level) for every absolute import."""
    found: list[tuple[str, int, bool]] = []
    top_level = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            found.append((name.split(".")[0], node.lineno, id(node) in top_level))
    return found


def test_every_runtime_import_is_a_declared_dependency() -> None:
    declared = _declared()
    local = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()} | set(RUNTIME)
    dists = packages_distributions()
    problems: list[str] = []
    for folder in RUNTIME:
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            for module, line, at_top in _imports(ast.parse(path.read_text(), filename=rel)):
                if module in sys.stdlib_module_names or module in local or module == "__future__":
                    continue
                if module in OPTIONAL:
                    why, allowed = OPTIONAL[module]
                    if rel not in allowed or (at_top and module != "gnubg"):
                        problems.append(f"{rel}:{line}: {module} ({why}) must be imported lazily")
                    continue
                owners = {_norm(d) for d in dists.get(module, [])}
                if not owners & declared:
                    problems.append(f"{rel}:{line}: {module} is not in [project.dependencies]")
    assert not problems, "\n".join(problems)
