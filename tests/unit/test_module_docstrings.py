"""Each module's docstring opens with one summary line that says the module's job and fits in 110 characters.

A summary wrapped onto the next line leaves the first line saying half of it (the line that `help()`, editors
and a grep for the opening quotes show), so the first line must end the sentence: a blank line or the
docstring's end follows it. The line counts with its quotes, as ruff's line length does.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ivr", "routing", "prompts")
LINE_LENGTH = 110  # ruff's line-length in pyproject.toml; the opening line counts with its quotes


def module_files() -> list[Path]:
    """Every Python file of the packages but an empty __init__.py."""
    files = sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))
    return [path for path in files if path.name != "__init__.py" or path.read_text(encoding="utf-8").strip()]


def summary_problem(source: str) -> str | None:
    """What is wrong with the module docstring's opening line, or None if it is one summary line."""
    tree = ast.parse(source)
    docstring = ast.get_docstring(tree, clean=False)
    if docstring is None:
        return "the module has no docstring"
    lines = docstring.split("\n")
    if not lines[0].strip():
        return "the docstring's first line is empty: the summary belongs on the line of the opening quotes"
    if len(lines) > 1 and lines[1].strip():
        return f"the summary runs on into the second line: {lines[0].strip()!r} is not the whole sentence"
    opening = source.splitlines()[tree.body[0].lineno - 1]
    if len(opening) > LINE_LENGTH:
        return f"the summary line is {len(opening)} characters with its quotes, more than {LINE_LENGTH}"
    return None


def test_the_walk_finds_the_packages_files() -> None:
    files = module_files()
    assert ROOT / "routing" / "router.py" in files
    assert ROOT / "prompts" / "__init__.py" in files
    assert ROOT / "ivr" / "app.py" in files
    assert ROOT / "routing" / "__init__.py" not in files, "an empty __init__.py has nothing to say"


def test_the_check_fails_on_a_wrapped_summary_and_passes_a_whole_one() -> None:
    wrapped = '"""The wallboard: the queue in large type, its waiting calls and\ntoday\'s service level."""\n'
    assert summary_problem(wrapped) is not None
    assert summary_problem("x = 1\n") is not None
    assert summary_problem('"""\nThe wallboard."""\n') is not None
    assert summary_problem('"""' + "a" * LINE_LENGTH + '."""\n') is not None
    assert summary_problem('"""The wallboard."""\n') is None
    whole = '"""The wallboard.\n\nIts waiting calls and\ntoday\'s service level.\n"""\n'
    assert summary_problem(whole) is None


@pytest.mark.parametrize("path", module_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_the_module_docstring_opens_with_one_summary_line(path: Path) -> None:
    problem = summary_problem(path.read_text(encoding="utf-8"))
    assert problem is None, f"{path.relative_to(ROOT)}: {problem}"
