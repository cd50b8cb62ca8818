"""The one place TwiML is built (twilio.twiml.voice_response), from the call flow's turns."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass

from twilio.twiml.voice_response import Dial, Enqueue, Gather, VoiceResponse

import prompts as prompt_catalogues
from ivr.calls.flow import Ask, Said
from ivr.config import Settings
from ivr.configuration.menus.texts import with_document_prompts

TWIML_CONTENT_TYPE = "text/xml; charset=utf-8"
MAX_CACHED_DOCUMENTS = 20_000


@dataclass(frozen=True)
class SaidText(Said):
    """Free text (an announcement) spoken with the language's voice instead of a catalogue prompt.

    `key` names its source (e.g. "announcement:7"); with the text it is part of a cached document's key,
    so an edited announcement never replays an old document."""

    text: str = ""


class Voice:
    """Speaks prompts from the catalogues with the voices and languages the settings choose."""

    def __init__(self, settings: Settings, catalogues: dict[str, prompt_catalogues.Catalogue] | None = None):
        self.catalogues = catalogues or prompt_catalogues.load_catalogues()
        self.settings = settings
        self._documents: dict[Hashable, str] = {}
        self._menu_voices: dict[int, Voice] = {}  # by menu version: versions never change

    def cached(self, key: Hashable, build: Callable[[], VoiceResponse]) -> str:
        """The rendered document for `key`, built once: a document depends only on its inputs, and
        most calls hear the same ones (the greeting, the main menu), so rendering XML each time is waste."""
        text = self._documents.get(key)
        if text is None:
            text = render(build())
            if len(self._documents) < MAX_CACHED_DOCUMENTS:
                self._documents[key] = text
        return text

    def for_menu(self, version: int, texts: Mapping[str, Mapping[str, str]]) -> Voice:
        """The voice of one menu version: its own prompt texts over the catalogues, and its own document
        cache (the same prompt key may read differently in another version). No texts: this voice."""
        if not texts:
            return self
        voice = self._menu_voices.get(version)
        if voice is None:
            voice = Voice(self.settings, with_document_prompts(self.catalogues, texts))
            self._menu_voices[version] = voice
        return voice

    def speech_language(self, language: str) -> str:
        """The <Gather language=...> for speech input in `language`."""
        return self.catalogues[language].speech_language

    def add(self, verb: VoiceResponse | Gather, said: Iterable[Said]) -> None:
        """Append each prompt as <Say> (or <Play> when the catalogue names an audio file)."""
        for item in said:
            catalogue = self.catalogues[item.language]
            voice = self.settings.voices.get(item.language, catalogue.voice)
            language = self.settings.say_languages.get(item.language, catalogue.say_language)
            if isinstance(item, SaidText):
                verb.say(item.text, voice=voice, language=language)
                continue
            prompt = catalogue.render(item.key, dict(item.values))
            if prompt.audio:
                verb.play(prompt.audio)
                continue
            verb.say(prompt.text, voice=voice, language=language)


def ask(
    voice: Voice, said: Iterable[Said], ask_step: Ask, action_url: str, silence_url: str
) -> VoiceResponse:
    """Prompts inside a <Gather> (so the caller can barge in), then a <Redirect> for silence."""
    response = VoiceResponse()
    gather = Gather(
        input="dtmf speech",
        action=action_url,
        method="POST",
        timeout=ask_step.timeout,
        language=voice.speech_language(ask_step.state.language),
        speech_timeout="auto",
    )
    gather.attrs["finishOnKey"] = ask_step.finish_on_key
    if ask_step.num_digits:
        gather.attrs["numDigits"] = str(ask_step.num_digits)
    if ask_step.hints:
        gather.attrs["hints"] = ", ".join(ask_step.hints)
    voice.add(gather, said)
    response.append(gather)
    # No input falls through the Gather: the redirect makes silence an explicit step.
    response.redirect(silence_url, method="POST")
    return response


def enqueue(voice: Voice, said: Iterable[Said], queue: str, wait_url: str, action_url: str) -> VoiceResponse:
    """Prompts, then the caller waits in `queue`; the waitUrl speaks the position."""
    response = VoiceResponse()
    voice.add(response, said)
    verb = Enqueue(queue, wait_url=wait_url, wait_url_method="POST", action=action_url, method="POST")
    response.append(verb)
    return response


def dial(
    voice: Voice, said: Iterable[Said], number: str, action_url: str, timeout: int = 20
) -> VoiceResponse:
    """Prompts, then dial `number`; the action learns the DialCallStatus."""
    response = VoiceResponse()
    voice.add(response, said)
    verb = Dial(action=action_url, method="POST", timeout=timeout)
    verb.number(number)
    response.append(verb)
    return response


def dial_without_webhook(
    voice: Voice, said: Iterable[Said], number: str, said_after: Iterable[Said], timeout: int = 30
) -> VoiceResponse:
    """Prompts, dial `number` with no action URL (the call goes on below the <Dial>), prompts, hang up:
    a document that needs no further request to the server."""
    response = VoiceResponse()
    voice.add(response, said)
    verb = Dial(timeout=timeout)
    verb.number(number)
    response.append(verb)
    voice.add(response, said_after)
    response.hangup()
    return response


def wait_document(
    voice: Voice, said: Iterable[Said], pause_seconds: int, leave: bool = False
) -> VoiceResponse:
    """A waitUrl document: only Say/Play/Pause/Leave, re-fetched by Twilio when it runs out."""
    response = VoiceResponse()
    voice.add(response, said)
    if leave:
        response.leave()
    else:
        response.pause(length=max(1, pause_seconds))
    return response


def gather_in_wait(voice: Voice, said: Iterable[Said], action_url: str, pause_seconds: int) -> VoiceResponse:
    """A waitUrl document that accepts one key (the call-back offer), then holds as usual."""
    response = VoiceResponse()
    gather = Gather(input="dtmf", action=action_url, method="POST", timeout=5)
    gather.attrs["numDigits"] = "1"
    voice.add(gather, said)
    response.append(gather)
    response.pause(length=max(1, pause_seconds))
    return response


def speak_and_hang_up(voice: Voice, said: Iterable[Said]) -> VoiceResponse:
    """Prompts, then hang up."""
    response = VoiceResponse()
    voice.add(response, said)
    response.hangup()
    return response


def gather_rescue(
    voice: Voice, said: Iterable[Said], action_url: str, then: Callable[[VoiceResponse], None], language: str
) -> VoiceResponse:
    """The rescue question (one key, 2 = gas leak), then `then` adds what happens without a key."""
    response = VoiceResponse()
    gather = Gather(input="dtmf", action=action_url, method="POST", timeout=4)
    gather.attrs["numDigits"] = "1"
    voice.add(gather, said)
    response.append(gather)
    then(response)
    return response


def hold_then_enqueue(
    voice: Voice, said: Iterable[Said], pause_seconds: int, queue: str, wait_url: str, action_url: str
) -> VoiceResponse:
    """Prompts, a pause on hold, then the caller waits in `queue` (a queue that was full is tried again)."""
    response = VoiceResponse()
    voice.add(response, said)
    response.pause(length=pause_seconds)
    response.enqueue(queue, wait_url=wait_url, wait_url_method="POST", action=action_url, method="POST")
    return response


def safety_leave(
    voice: Voice, said: Iterable[Said], pause_seconds: int, leaving: Iterable[Said]
) -> VoiceResponse:
    """A safety caller's last wait document: their place, a pause, the farewell, then out of the queue."""
    response = VoiceResponse()
    voice.add(response, said)
    if pause_seconds >= 1:
        response.pause(length=pause_seconds)
    voice.add(response, leaving)
    response.leave()  # the Enqueue action (queue_exit) dials the duty engineer at once
    return response


# How long speech lasts, over-estimated on purpose (too long only makes the caller leave earlier): Mandarin
# text-to-speech reads about 4-5 characters a second, English about 14; each <Say> takes a moment to start.
SPOKEN_SECONDS_WIDE_CHAR, SPOKEN_SECONDS_CHAR = 0.3, 0.1  # per character: CJK, others
SPOKEN_SECONDS_START, AUDIO_PROMPT_SECONDS = 0.5, 10.0  # per <Say>; a recorded prompt (<Play>)


def spoken_seconds(voice: Voice, said: Iterable[Said]) -> float:
    """About how long the prompts take to say, erring long."""
    total = 0.0
    for item in said:
        prompt = voice.catalogues[item.language].render(item.key, dict(item.values))
        if prompt.audio:
            total += AUDIO_PROMPT_SECONDS
            continue
        wide = sum(1 for char in prompt.text if ord(char) >= 0x2E80)  # CJK characters and punctuation
        total += SPOKEN_SECONDS_START + wide * SPOKEN_SECONDS_WIDE_CHAR
        total += (len(prompt.text) - wide) * SPOKEN_SECONDS_CHAR
    return total


def render(response: VoiceResponse) -> str:
    """The XML text of a response."""
    return str(response.to_xml())
