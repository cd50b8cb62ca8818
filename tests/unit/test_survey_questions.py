"""The survey's questions: how keys become answers, and words that never suggest a score."""

from __future__ import annotations

import re

import pytest

from ivr.surveys.responses import QUESTIONS, parse_answer
from prompts import load_catalogues

SCORE, YES_NO = QUESTIONS[0], QUESTIONS[2]


@pytest.mark.parametrize(
    ("digits", "expected"),
    [
        ("1", 1),
        ("5", 5),
        ("9", 9),
        ("10", 10),
        ("0", None),
        ("11", None),
        ("", None),
        ("?", None),
        ("#", None),
    ],
)
def test_scores_are_keys_1_to_9_and_1_0_for_ten(digits, expected):
    assert parse_answer(SCORE, digits) == expected


@pytest.mark.parametrize(("digits", "expected"), [("1", True), ("2", False), ("3", None), ("", None)])
def test_yes_no_is_1_or_2(digits, expected):
    assert parse_answer(YES_NO, digits) is expected


# Words that praise, ask for a high mark or tell the customer how to feel.
LEADING = re.compile(
    r"满意|好评|满分|非常|优秀|希望您给|satisf|excellent|great|happy|hope you|full marks|please give", re.I
)


@pytest.mark.parametrize("language", ["zh-CN", "en-US"])
def test_survey_prompts_are_neutral_and_name_both_ends_of_the_scale(language):
    catalogue = load_catalogues()[language]
    texts = {key: p.text for key, p in catalogue.prompts.items() if key.startswith("survey_")}
    assert len(texts) >= 10
    for key, text in texts.items():
        assert not LEADING.search(text), f"{language} {key} suggests a score: {text}"
    for question in ("survey_attitude", "survey_ability"):
        text = texts[question]
        assert "1" in text and "10" in text and ("0" in text.replace("10", "", 1))  # how to give 10
