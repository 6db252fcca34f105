"""Every third-party module the package imports is declared in `pyproject.toml`; a module of an
optional extra is imported only inside a function, so the package imports without it."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imported_top_level_modules() -> set[str]:
    found: set[str] = set()
    for source in (ROOT / "src" / "autoalign").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"autoalign", "__future__"}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _names(requirements: list[str]) -> set[str]:
    return {
        _normalise(re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0])
        for requirement in requirements
    }


def _extras() -> set[str]:
    """Distributions of the optional extras a user installs (not the test tools)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    optional: dict[str, list[str]] = project.get("optional-dependencies", {})
    return {name for extra, reqs in optional.items() if extra != "test" for name in _names(reqs)}


def test_every_imported_distribution_is_a_declared_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = _names(project["dependencies"]) | _extras()
    providers = packages_distributions()
    undeclared = {
        module: providers.get(module, ["(not installed)"])
        for module in _imported_top_level_modules()
        if not declared & {_normalise(d) for d in providers.get(module, [])}
    }
    assert undeclared == {}


def test_an_optional_extra_is_imported_only_inside_functions() -> None:
    extras = _extras()
    assert "ray" in extras
    at_top: list[str] = []
    web = ROOT / "src" / "autoalign" / "web"
    for source in (ROOT / "src" / "autoalign").rglob("*.py"):
        tree = ast.parse(source.read_text())
        if source.is_relative_to(web):
            # The web extra's own package: it needs the extra throughout, and nothing imports
            # it at module level (checked below), so the package still imports without it.
            continue
        at_top += [f"{source.name}: autoalign.web" for node in tree.body
                   if isinstance(node, ast.ImportFrom) and node.module is not None
                   and (node.module == "web" or node.module.endswith("autoalign.web")
                        or node.module.startswith("web."))]
        for node in tree.body:  # module-level statements only
            if isinstance(node, ast.Import):
                names = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module.split(".")[0]]
            else:
                continue
            at_top += [f"{source.name}: {n}" for n in names if _normalise(n) in extras]
    assert at_top == []
