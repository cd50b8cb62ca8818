"""`routing` and `prompts` are pure: they import only the standard library and themselves."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE_PACKAGES = ("routing", "prompts")


def imported_modules(source: str) -> set[str]:
    """The top-level modules a piece of Python source imports (relative imports stay in the package)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def impure_imports(source: str, package: str) -> set[str]:
    """Imports that are neither the standard library nor a pure package."""
    allowed = set(sys.stdlib_module_names) | set(PURE_PACKAGES) | {package}
    return imported_modules(source) - allowed


def pure_files() -> list[Path]:
    return sorted(path for package in PURE_PACKAGES for path in (ROOT / package).rglob("*.py"))


def test_the_walk_finds_the_files() -> None:
    files = pure_files()
    assert ROOT / "prompts" / "__init__.py" in files
    assert ROOT / "routing" / "__init__.py" in files


@pytest.mark.parametrize("path", pure_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_pure_package_imports_only_the_standard_library(path: Path) -> None:
    package = path.relative_to(ROOT).parts[0]
    assert impure_imports(path.read_text(encoding="utf-8"), package) == set()


def test_prompts_imports_are_seen() -> None:
    # The collector really reads the imports: prompts uses tomllib and string.
    assert {"tomllib", "string", "pathlib"} <= imported_modules(
        (ROOT / "prompts" / "__init__.py").read_text()
    )


@pytest.mark.parametrize(
    ("source", "impure"),
    [
        ("import os\nimport json", set()),
        ("from __future__ import annotations\nfrom collections.abc import Mapping", set()),
        ("from . import rules\nfrom .tables import X", set()),
        ("import prompts\nfrom routing.rules import route", set()),
        ("import flask", {"flask"}),
        ("import sqlalchemy.orm as orm", {"sqlalchemy"}),
        ("from pydantic import BaseModel", {"pydantic"}),
        ("from ivr.configuration.menus import schema", {"ivr"}),
        ("def f():\n    import requests\n", {"requests"}),
        ("try:\n    import twilio\nexcept ImportError:\n    twilio = None\n", {"twilio"}),
    ],
)
def test_impure_imports_are_caught(source: str, impure: set[str]) -> None:
    assert impure_imports(source, "routing") == impure
