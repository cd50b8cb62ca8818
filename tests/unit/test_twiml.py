"""TwiML rendering: voices and languages are settings, audio prompts play, documents stay valid."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ivr.calls import twiml
from ivr.calls.flow import Ask, CallState, Said
from ivr.config import Settings
from prompts import PromptText, load_catalogues


def _voice(**settings: object) -> twiml.Voice:
    catalogues = dict(load_catalogues())
    zh = catalogues["zh-CN"]
    prompts = dict(zh.prompts)
    prompts["greeting"] = PromptText(text="您好", audio="https://cdn.example.com/greeting.mp3")
    catalogues["zh-CN"] = type(zh)(**{**zh.__dict__, "prompts": prompts})
    return twiml.Voice(Settings(**settings), catalogues)  # type: ignore[arg-type]


def test_a_prompt_with_audio_is_played_not_said() -> None:
    response = twiml.VoiceResponse()
    _voice().add(response, [Said("greeting", "zh-CN"), Said("main_menu", "zh-CN")])
    root = ET.fromstring(twiml.render(response))
    assert [child.tag for child in root] == ["Play", "Say"]
    assert root[0].text == "https://cdn.example.com/greeting.mp3"


def test_voice_and_say_language_come_from_settings() -> None:
    voice = _voice(voices={"en-US": "Polly.Matthew-Neural"}, say_languages={"zh-CN": "zh-CN"})
    response = twiml.VoiceResponse()
    voice.add(response, [Said("goodbye", "en-US"), Said("goodbye", "zh-CN")])
    root = ET.fromstring(twiml.render(response))
    assert root[0].get("voice") == "Polly.Matthew-Neural" and root[0].get("language") == "en-US"
    assert root[1].get("voice") == "Polly.Zhiyu-Neural" and root[1].get("language") == "zh-CN"


def test_placeholders_are_filled() -> None:
    response = twiml.VoiceResponse()
    _voice().add(response, [Said("queue_position", "en-US", (("ahead", "3"),))])
    assert "There are 3 callers ahead of you" in twiml.render(response)


def test_ask_has_no_finish_key_for_menus_and_a_redirect_for_silence() -> None:
    state = CallState(version=1, node="main", language="en-US", step=2)
    document = twiml.ask(
        _voice(), [Said("main_menu", "en-US")], Ask(state, 1, "", 6, ("gas leak",)), "u", "u"
    )
    root = ET.fromstring(twiml.render(document))
    gather = root.find("Gather")
    assert gather is not None and gather.get("finishOnKey") == "" and gather.get("numDigits") == "1"
    assert gather.get("language") == "en-US" and gather.get("hints") == "gas leak"
    assert root[-1].tag == "Redirect"


@pytest.mark.parametrize(
    "params",
    [
        {"v": 1, "n": "main", "l": "zh-CN", "t": 0, "s": 3},
        {"n": "节点 a&b=c", "q": "x y+z", "e": "", "u": "a/b?c#d", "p": "100%"},
    ],
)
def test_action_urls_are_encoded_exactly_as_urlencode_does(params):
    from urllib.parse import urlencode

    from ivr.calls.webhook import query_string

    assert query_string(params) == urlencode(params)
