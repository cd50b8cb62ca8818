"""Prompt catalogues: the shipped files, parity between languages, parsing and rendering."""

from __future__ import annotations

from pathlib import Path

import pytest

from prompts import (
    CATALOGUE_DIR,
    Catalogue,
    PromptText,
    load_catalogue,
    load_catalogues,
    parity_problems,
    parse_catalogue,
    placeholders,
)

META = {
    "language": "xx-XX",
    "name": "Test",
    "say_language": "xx-XX",
    "speech_language": "xx-XX",
    "voice": "Polly.Test",
}
BALANCE_DIFFERS = "prompt 'balance' has different placeholders"


def catalogue(language: str, **texts: str) -> Catalogue:
    """A crafted catalogue with the given prompt texts."""
    prompts = {key: PromptText(text) for key, text in texts.items()}
    return Catalogue(language, language, language, language, "Polly.Test", prompts)


# ---------------------------------------------------------------- the shipped catalogues


def test_shipped_catalogues_are_the_two_languages() -> None:
    catalogues = load_catalogues()
    assert sorted(catalogues) == ["en-US", "zh-CN"]
    assert all(len(c.prompts) >= 30 for c in catalogues.values())


def test_shipped_catalogues_have_the_same_keys_and_placeholders() -> None:
    catalogues = load_catalogues()
    assert parity_problems(catalogues) == []
    assert set(catalogues["zh-CN"].prompts) == set(catalogues["en-US"].prompts)


@pytest.mark.parametrize(
    ("language", "say_language", "speech_language", "voice"),
    [
        ("zh-CN", "cmn-CN", "cmn-Hans-CN", "Polly.Zhiyu-Neural"),
        ("en-US", "en-US", "en-US", "Polly.Joanna-Neural"),
    ],
)
def test_shipped_catalogue_meta(language: str, say_language: str, speech_language: str, voice: str) -> None:
    found = load_catalogue(CATALOGUE_DIR / f"{language}.toml")
    assert found.language == language
    assert found.name
    assert found.say_language == say_language
    assert found.speech_language == speech_language
    assert found.voice == voice


@pytest.mark.parametrize("language", ["zh-CN", "en-US"])
def test_shipped_prompts_are_not_empty(language: str) -> None:
    empty = [key for key, prompt in load_catalogues()[language].prompts.items() if not prompt.text.strip()]
    assert empty == []


@pytest.mark.parametrize(
    ("key", "names"),
    [
        ("balance", {"account", "amount"}),
        ("balance_arrears", {"account", "amount"}),
        ("fault_reported", {"number", "hours"}),
        ("queue_position", {"ahead"}),
        ("language_offer", {"key"}),
        ("greeting", set()),
    ],
)
@pytest.mark.parametrize("language", ["zh-CN", "en-US"])
def test_shipped_placeholders(language: str, key: str, names: set[str]) -> None:
    assert placeholders(load_catalogues()[language].prompts[key].text) == names


# ---------------------------------------------------------------- parity on crafted catalogues


@pytest.mark.parametrize(
    ("zh", "en", "expected"),
    [
        pytest.param({"greeting": "您好"}, {"greeting": "Hello"}, [], id="same"),
        pytest.param(
            {"greeting": "您好", "goodbye": "再见"},
            {"greeting": "Hello"},
            ["prompt 'goodbye' is missing in en-US"],
            id="missing-key",
        ),
        pytest.param(
            {"greeting": "您好"},
            {"greeting": "Hello", "goodbye": "Bye"},
            ["prompt 'goodbye' is missing in zh-CN"],
            id="missing-key-other-side",
        ),
        pytest.param(
            {"balance": "账户{account}余额{amount}元"},
            {"balance": "Account {account}."},
            [f"{BALANCE_DIFFERS} (en-US: ['account'], zh-CN: ['account', 'amount'])"],
            id="placeholder-missing",
        ),
        pytest.param(
            {"balance": "账户{account}"},
            {"balance": "Account {acount}"},
            [f"{BALANCE_DIFFERS} (en-US: ['acount'], zh-CN: ['account'])"],
            id="placeholder-misspelt",
        ),
        pytest.param(
            {"balance": "{amount}元，账户{account}"},
            {"balance": "Account {account}: {amount}"},
            [],
            id="placeholder-order-free",
        ),
    ],
)
def test_parity_problems(zh: dict[str, str], en: dict[str, str], expected: list[str]) -> None:
    assert parity_problems({"zh-CN": catalogue("zh-CN", **zh), "en-US": catalogue("en-US", **en)}) == expected


def test_parity_problems_reports_key_and_placeholder_together() -> None:
    problems = parity_problems(
        {
            "zh-CN": catalogue("zh-CN", greeting="您好", balance="{account}{amount}"),
            "en-US": catalogue("en-US", balance="{account}"),
        }
    )
    assert len(problems) == 2
    assert "prompt 'greeting' is missing in en-US" in problems
    assert any(p.startswith("prompt 'balance' has different placeholders") for p in problems)


def test_parity_of_nothing_is_nothing() -> None:
    assert parity_problems({}) == []


# ---------------------------------------------------------------- parsing


def test_parse_catalogue_reads_meta_and_prompts() -> None:
    parsed = parse_catalogue({"meta": dict(META), "prompts": {"greeting": "Hello"}})
    assert parsed == Catalogue(
        "xx-XX", "Test", "xx-XX", "xx-XX", "Polly.Test", {"greeting": PromptText("Hello")}
    )


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param("Hello", PromptText("Hello", None), id="string"),
        pytest.param({"text": "Hello"}, PromptText("Hello", None), id="table-text-only"),
        pytest.param(
            {"text": "Hello", "audio": "https://example.org/hello.mp3"},
            PromptText("Hello", "https://example.org/hello.mp3"),
            id="table-with-audio",
        ),
    ],
)
def test_parse_catalogue_entries(entry: object, expected: PromptText) -> None:
    parsed = parse_catalogue({"meta": dict(META), "prompts": {"greeting": entry}})
    assert parsed.prompts["greeting"] == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(
            {"prompts": {"a": "b"}}, r"needs a \[meta\] table and a \[prompts\] table", id="no-meta"
        ),
        pytest.param({"meta": META}, r"needs a \[meta\] table and a \[prompts\] table", id="no-prompts"),
        pytest.param({"meta": "x", "prompts": {}}, r"needs a \[meta\] table", id="meta-not-table"),
        pytest.param(
            {"meta": META, "prompts": {"greeting": 3}}, "prompt 'greeting' must be a string", id="number"
        ),
        pytest.param({"meta": META, "prompts": {"greeting": ["a"]}}, "prompt 'greeting' must be", id="list"),
        pytest.param(
            {"meta": META, "prompts": {"greeting": {"audio": "https://example.org/a.mp3"}}},
            "prompt 'greeting' must be a string or a table with 'text'",
            id="table-without-text",
        ),
        pytest.param(
            {"meta": META, "prompts": {"greeting": {"text": 5}}},
            "prompt 'greeting' must be",
            id="text-not-string",
        ),
        pytest.param(
            {"meta": META, "prompts": {"greeting": {"text": "Hi", "audio": 5}}},
            "prompt 'greeting' must be",
            id="audio-not-string",
        ),
        pytest.param(
            {"meta": META, "prompts": {"greeting": {"text": "Hi", "audo": "https://example.org/a.mp3"}}},
            "prompt 'greeting' must be",
            id="unknown-field-in-table",
        ),
        pytest.param(
            {"meta": {k: v for k, v in META.items() if k != "voice"}, "prompts": {}},
            r"\[meta\] lacks 'voice'",
            id="meta-without-voice",
        ),
        pytest.param(
            {"meta": {k: v for k, v in META.items() if k != "say_language"}, "prompts": {}},
            r"\[meta\] lacks 'say_language'",
            id="meta-without-say-language",
        ),
    ],
)
def test_parse_catalogue_rejects(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_catalogue(raw)


def test_load_catalogues_from_a_directory(tmp_path: Path) -> None:
    for language, text in [("de-DE", "Hallo {name}"), ("fr-FR", "Bonjour {name}")]:
        (tmp_path / f"{language}.toml").write_text(
            "[meta]\n"
            f'language = "{language}"\nname = "x"\nsay_language = "{language}"\n'
            f'speech_language = "{language}"\nvoice = "Polly.X"\n'
            f'[prompts]\ngreeting = "{text}"\n'
            f'closing = {{ text = "Bye", audio = "https://example.org/{language}.mp3" }}\n',
            encoding="utf-8",
        )
    found = load_catalogues(str(tmp_path))
    assert sorted(found) == ["de-DE", "fr-FR"]
    assert found["fr-FR"].prompts["closing"] == PromptText("Bye", "https://example.org/fr-FR.mp3")
    assert parity_problems(found) == []


# ---------------------------------------------------------------- placeholders and rendering


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("no placeholder", set()),
        ("{a}", {"a"}),
        ("{a} and {b} and {a}", {"a", "b"}),
        ("余额{amount}元", {"amount"}),
        ("literal {{braces}} only", set()),
    ],
)
def test_placeholders(text: str, names: set[str]) -> None:
    assert placeholders(text) == names


@pytest.mark.parametrize(
    ("language", "key", "values", "expected"),
    [
        (
            "en-US",
            "balance",
            {"account": "8801", "amount": "12.50"},
            "The balance of account 8801 is 12.50 yuan.",
        ),
        ("zh-CN", "balance", {"account": "8801", "amount": "12.50"}, "您的账户8801当前余额为12.50元。"),
        (
            "en-US",
            "queue_position",
            {"ahead": "3"},
            "There are 3 callers ahead of you. Thank you for waiting.",
        ),
        ("zh-CN", "language_offer", {"key": "8"}, "普通话服务请按8。"),
        ("en-US", "language_offer", {"key": "9"}, "For English, press 9."),
    ],
)
def test_render_fills_placeholders(language: str, key: str, values: dict[str, str], expected: str) -> None:
    assert load_catalogues()[language].render(key, values) == PromptText(expected)


def test_render_without_values_returns_the_text() -> None:
    zh = load_catalogues()["zh-CN"]
    assert zh.render("greeting").text == zh.prompts["greeting"].text


def test_render_keeps_the_audio() -> None:
    parsed = parse_catalogue(
        {"meta": dict(META), "prompts": {"hi": {"text": "Hi {name}", "audio": "https://example.org/hi.mp3"}}}
    )
    assert parsed.render("hi", {"name": "Li"}) == PromptText("Hi Li", "https://example.org/hi.mp3")


def test_render_with_a_missing_value_fails_loudly() -> None:
    with pytest.raises(KeyError):
        load_catalogues()["en-US"].render("balance", {"account": "8801"})
