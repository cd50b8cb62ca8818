"""Prompt catalogues: one TOML file per language with the same keys and placeholders."""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

CATALOGUE_DIR = Path(__file__).parent


@dataclass(frozen=True)
class PromptText:
    """One prompt in one language: the text to speak, or an audio file to play instead."""

    text: str
    audio: str | None = None


@dataclass(frozen=True)
class Catalogue:
    """All prompts of one language, with the speech settings the catalogue suggests."""

    language: str
    name: str
    say_language: str
    speech_language: str
    voice: str
    prompts: dict[str, PromptText] = field(default_factory=dict)

    def render(self, key: str, values: dict[str, str] | None = None) -> PromptText:
        """The prompt `key` with its placeholders filled in."""
        prompt = self.prompts[key]
        text = prompt.text.format(**values) if values else prompt.text
        return PromptText(text=text, audio=prompt.audio)


def placeholders(text: str) -> set[str]:
    """The `{name}` placeholders used in a prompt text."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def parse_catalogue(raw: dict[str, object]) -> Catalogue:
    """Build a catalogue from a parsed TOML document; raises ValueError naming what is wrong."""
    meta = raw.get("meta")
    entries = raw.get("prompts")
    if not isinstance(meta, dict) or not isinstance(entries, dict):
        raise ValueError("a catalogue needs a [meta] table and a [prompts] table")
    prompts: dict[str, PromptText] = {}
    for key, value in entries.items():
        if isinstance(value, str):
            prompts[key] = PromptText(text=value)
        elif (
            isinstance(value, dict)
            and isinstance(value.get("text"), str)
            and isinstance(value.get("audio", ""), str)
            and set(value) <= {"text", "audio"}
        ):
            prompts[key] = PromptText(text=value["text"], audio=value.get("audio"))
        else:
            raise ValueError(f"prompt {key!r} must be a string or a table with 'text' (and optional 'audio')")
    try:
        return Catalogue(
            language=str(meta["language"]),
            name=str(meta["name"]),
            say_language=str(meta["say_language"]),
            speech_language=str(meta["speech_language"]),
            voice=str(meta["voice"]),
            prompts=prompts,
        )
    except KeyError as missing:
        raise ValueError(f"[meta] lacks {missing}") from None


def load_catalogue(path: Path) -> Catalogue:
    """Read one catalogue file."""
    with path.open("rb") as handle:
        return parse_catalogue(tomllib.load(handle))


@lru_cache(maxsize=8)
def load_catalogues(directory: str = str(CATALOGUE_DIR)) -> dict[str, Catalogue]:
    """Every catalogue in a directory, by language tag (cached: catalogues are read-only data)."""
    found = [load_catalogue(path) for path in sorted(Path(directory).glob("*.toml"))]
    return {catalogue.language: catalogue for catalogue in found}


def parity_problems(catalogues: dict[str, Catalogue]) -> list[str]:
    """Keys or placeholders that differ between catalogues, in words."""
    problems: list[str] = []
    all_keys = set().union(*(set(c.prompts) for c in catalogues.values())) if catalogues else set()
    for language, catalogue in sorted(catalogues.items()):
        for key in sorted(all_keys - set(catalogue.prompts)):
            problems.append(f"prompt {key!r} is missing in {language}")
    for key in sorted(all_keys):
        shapes = {
            language: placeholders(c.prompts[key].text)
            for language, c in catalogues.items()
            if key in c.prompts
        }
        if len({frozenset(s) for s in shapes.values()}) > 1:
            described = ", ".join(f"{lang}: {sorted(names)}" for lang, names in sorted(shapes.items()))
            problems.append(f"prompt {key!r} has different placeholders ({described})")
    return problems
