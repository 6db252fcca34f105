"""Imports only go downwards through the layers `docs/architecture.md` documents."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "autoalign"

LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"__init__", "errors", "vocabulary", "_text", "_cache", "_environment"}),
    frozenset({"store"}),
    frozenset({"models"}),
    frozenset({"embeddings"}),
    frozenset({"agenda"}),
    frozenset({"testbeds"}),
    frozenset({"sandbox"}),
    frozenset({"experiments"}),
    frozenset({"calibration"}),
    frozenset({"critics"}),
    frozenset({"review"}),
    frozenset({"runtime"}),
    frozenset({"pipeline"}),
    frozenset({"examine", "cluster", "redteam"}),
    frozenset({"case"}),
    frozenset({"learning"}),
    frozenset({"web"}),
    frozenset({"cli"}),
    frozenset({"__main__"}),
)
"""Bottom to top. A module may import its own unit and anything in a lower layer. The package
root (`autoalign/__init__.py`, only the version) is at the bottom."""


def _unit(module: str) -> str:
    """`autoalign.store._engine` → `store`; `autoalign` (the package's __init__) → `__init__`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _layer(unit: str) -> int:
    for i, layer in enumerate(LAYERS):
        if unit in layer:
            return i
    raise AssertionError(f"module unit {unit!r} is in no layer; add it to LAYERS and the docs")


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every autoalign import in `path`."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("autoalign")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                if node.module is None:  # `from . import a, b`: each is a module
                    found += [(node.lineno, f"{target}.{a.name}") for a in node.names]
                    continue
            else:
                target = node.module or ""
            if target.startswith("autoalign"):
                found.append((node.lineno, target))
    return found


def test_every_import_goes_down_the_layers() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = _unit(_module_name(path))
        for line, target in _imports(path):
            there = _unit(target)
            if there != here and _layer(there) >= _layer(here):
                wrong.append(f"{path.relative_to(PACKAGE)}:{line} ({here}) imports {target}")
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_the_check_sees_a_violation() -> None:
    """The walk resolves relative imports: a store module importing the pipeline is caught."""
    fake = PACKAGE / "store" / "_x.py"
    assert _module_name(fake) == "autoalign.store._x"
    assert _layer(_unit("autoalign.pipeline")) > _layer(_unit("autoalign.store._x"))
    init = PACKAGE / "runtime" / "__init__.py"
    assert ("autoalign.runtime._context" in [t for _, t in _imports(init)])
