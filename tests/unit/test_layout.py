"""The tree shows the pipeline: few top-level modules, small modules and functions, and every
package shipped by a plain (non-editable) install."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "digest"
MODULE_MAX_LINES = 300
FUNCTION_MAX_LINES = 50


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_at_most_ten_top_level_modules() -> None:
    top = [p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert len(top) <= 10, top


def test_no_module_over_300_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in modules()
        if (n := p.read_text().count("\n")) > MODULE_MAX_LINES
    }
    assert not long


def test_no_function_over_50_lines() -> None:
    long = []
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                start = min([d.lineno for d in node.decorator_list] + [node.lineno])
                if (node.end_lineno or start) - start + 1 > FUNCTION_MAX_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.name}")
    assert not long


def test_every_package_is_listed_for_a_plain_install() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {".".join(init.parent.relative_to(ROOT).parts) for init in PACKAGE.rglob("__init__.py")}
    assert found <= listed, sorted(found - listed)
