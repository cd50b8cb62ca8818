"""Webhooks of the satisfaction call-back survey (docs/survey.md).

The outbound call's Voice URL, one question per step, the comment, and the status callback that settles the
try.

On the `voice` blueprint, so the same signature check applies. The job id and the question travel in the
signed URLs. Every answer is written as it is given, so a hang-up midway keeps what was said. A failure
inside a step ends the call politely (the customer is not a caller who needs a person) and keeps the rest.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Response, request
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.calls import twiml
from ivr.calls.flow import Said
from ivr.calls.inputs import clean_digits as _clean_digits
from ivr.calls.inputs import whole_number as _int
from ivr.calls.webhook import Webhooks
from ivr.calls.webhook import language_arg as _language
from ivr.calls.webhook import xml as _xml
from ivr.db.deadline import bounded
from ivr.db.session import unit_of_work
from ivr.hotline import Hotline
from ivr.surveys import responses as survey
from ivr.surveys.attempts import MACHINES
from ivr.surveys.jobs import calling_rules
from ivr.web.current_hotline import hotline

log = logging.getLogger(__name__)
T = TypeVar("T")

CONSENT = 0  # the introduction: 1 starts, 2 declines
COMMENT = len(survey.QUESTIONS) + 1  # after the last question
ANSWER_SECONDS = 6  # silence before a question counts as not answered
COMMENT_SECONDS = 60


def _survey_safe(view: Callable[[], Response]) -> Callable[[], Response]:
    """Whatever fails, the customer hears an apology and a goodbye (valid TwiML), never a 500."""

    @functools.wraps(view)
    def guarded() -> Response:
        try:
            return view()
        except Exception:
            log.exception("survey webhook %s failed", request.path)
            try:
                language = _language(hotline(), request.args.get("l"))
                return _xml(twiml.speak_and_hang_up(hotline().voice, [Said("survey_sorry", language)]))
            except Exception:
                return _xml(VoiceResponse())

    return guarded


def _url(path: str, **params: Any) -> str:
    base = hotline().settings.public_base_url or request.host_url.rstrip("/")
    return f"{base}/voice/survey/{path}?{urlencode(params)}"


def _job() -> int:
    return _int(request.args.get("j"), 0)


def _call_sid() -> str:
    return request.form.get("CallSid", "")[:64]


@_survey_safe
def survey_start() -> Response:
    """The call-back was answered: hang up on a machine; greet a person and ask if they will take part."""
    h = hotline()
    answered_by = request.form.get("AnsweredBy", "")
    job_id, call_sid, timezone = _job(), _call_sid(), h.settings.local_timezone

    def start(session: Session) -> tuple[survey.SurveyCall | None, bool]:
        call = survey.survey_call(session, job_id)
        if call is None:
            return None, False
        if answered_by.startswith(MACHINES):
            survey.note_machine(session, call.job_id, call_sid, answered_by)
            return call, False
        return call, survey.begin(session, call.job_id, call_sid, timezone)

    call, started = _in_transaction(h, start)
    if call is None:
        return _xml(VoiceResponse())  # not a job of ours: silence and hang up
    if answered_by.startswith(MACHINES):
        return _xml(_hang_up())
    language = _language(h, call.language)
    if not started:
        return _xml(twiml.speak_and_hang_up(h.voice, [Said("survey_declined", language)]))
    intro = Said(
        "survey_intro",
        language,
        (
            ("date", _spoken_date(call.completed_at, language, h)),
            ("service", _service_words(h, call, language)),
        ),
    )
    return _xml(_ask(h, [intro], CONSENT, 0, language))


@_survey_safe
def survey_answer() -> Response:
    """One answer (or silence): keep it and ask the next question; an invalid one is asked again once."""
    h = hotline()
    language = _language(h, request.args.get("l"))
    number = _int(request.args.get("q"), CONSENT)
    tries = _int(request.args.get("t"), 0)
    digits = _clean_digits(request.form.get("Digits", ""))
    job_id, call_sid = _job(), _call_sid()
    if number == CONSENT:
        if digits == "1":
            return _xml(_ask(h, [], 1, 0, language))
        if digits == "2" or tries >= 1:
            _in_transaction(h, lambda session: survey.decline(session, job_id, call_sid))
            return _xml(twiml.speak_and_hang_up(h.voice, [Said("survey_declined", language)]))
        again = [Said("survey_invalid", language), Said("survey_consent_again", language)]
        return _xml(_ask(h, again, CONSENT, 1, language))
    if not 1 <= number <= len(survey.QUESTIONS):
        return _xml(_comment(h, language))
    question = survey.QUESTIONS[number - 1]
    value = survey.parse_answer(question, digits)
    if value is None:
        _in_transaction(h, lambda session: survey.count_invalid(session, job_id, call_sid))
    else:
        _in_transaction(h, lambda session: survey.save_answer(session, job_id, call_sid, question, value))
    if value is None and tries == 0:
        return _xml(_ask(h, [Said("survey_invalid", language)], number, 1, language))
    if number < len(survey.QUESTIONS):
        return _xml(_ask(h, [], number + 1, 0, language))
    return _xml(_comment(h, language))


@_survey_safe
def survey_comment() -> Response:
    """The Record's action: keep the comment's recording, thank the customer, goodbye."""
    h = hotline()
    language = _language(h, request.args.get("l"))
    _keep_comment(h)
    return _xml(twiml.speak_and_hang_up(h.voice, [Said("survey_thanks", language)]))


@_survey_safe
def survey_comment_recorded() -> Response:
    """The Record's recordingStatusCallback: the comment is kept even if the customer hung up speaking."""
    if request.form.get("RecordingStatus", "completed") == "completed":
        _keep_comment(hotline())
    return _xml(VoiceResponse())


@_survey_safe
def survey_status() -> Response:
    """The call-back call's status callback: settle the try (final outcome, or another try later)."""
    h = hotline()
    job_id, call_sid, rules = _job(), _call_sid(), calling_rules(h.settings)
    status, answered_by = request.form.get("CallStatus", ""), request.form.get("AnsweredBy") or None
    _in_transaction(h, lambda s: survey.call_ended(s, job_id, call_sid, status, answered_by, rules))
    return _xml(VoiceResponse())


# ---------------------------------------------------------------- helpers


def _keep_comment(h: Hotline) -> None:
    form = request.form
    seconds = _int(form.get("RecordingDuration"), 0)
    if seconds <= 0:
        return  # nothing was said
    job_id, call_sid = _job(), _call_sid()
    recording_sid, url = form.get("RecordingSid", ""), form.get("RecordingUrl", "")
    _in_transaction(h, lambda s: survey.save_comment(s, job_id, call_sid, recording_sid, url, seconds))


def _in_transaction(h: Hotline, work: Callable[[Session], T]) -> T:
    """`work` in one transaction, waited for within the webhook's database budget (ivr/db/deadline.py):
    a hung database ends the call politely in time instead of holding the customer."""

    def run() -> T:
        with unit_of_work(h.sessions) as session:
            return work(session)

    return bounded(run)


def _ask(h: Hotline, said: list[Said], number: int, tries: int, language: str) -> VoiceResponse:
    """The question `number` (0: the introduction's yes/no) in a Gather; silence comes back as no answer."""
    action = _url("answer", j=_job(), q=number, t=tries, l=language)
    score = number >= 1 and survey.QUESTIONS[number - 1].kind == "score"
    # A score may be two keys ("1 0" is 10): the Gather ends on # or after `timeout` seconds without a key.
    gather = Gather(input="dtmf", action=action, method="POST", timeout=ANSWER_SECONDS, finish_on_key="#")
    if not score:
        gather.attrs["numDigits"] = "1"
    if number == CONSENT:
        spoken = said or [Said("survey_consent_again", language)]
    else:
        spoken = [*said, Said(survey.QUESTIONS[number - 1].prompt, language)]
    h.voice.add(gather, spoken)
    response = VoiceResponse()
    response.append(gather)
    response.redirect(action, method="POST")
    return response


def _comment(h: Hotline, language: str) -> VoiceResponse:
    """The optional spoken comment, recorded; # (or silence) skips it."""
    response = VoiceResponse()
    h.voice.add(response, [Said("survey_comment", language)])
    response.record(
        action=_url("comment", j=_job(), l=language),
        method="POST",
        max_length=COMMENT_SECONDS,
        finish_on_key="#",
        play_beep=True,
        timeout=5,
        recording_status_callback=_url("comment-recorded", j=_job(), l=language),
        recording_status_callback_method="POST",
    )
    # Nothing recorded: Twilio goes on to the next verb.
    h.voice.add(response, [Said("survey_thanks", language)])
    response.hangup()
    return response


def _hang_up() -> VoiceResponse:
    response = VoiceResponse()
    response.hangup()  # a machine: no message left (a survey is not a reason to leave one)
    return response


def _service_words(h: Hotline, call: survey.SurveyCall, language: str) -> str:
    catalogue = h.voice.catalogues[language]
    key = f"service_{call.service_type}"
    return catalogue.render(key if key in catalogue.prompts else "service_other").text


def _spoken_date(moment: datetime, language: str, h: Hotline) -> str:
    local = moment.replace(tzinfo=UTC).astimezone(ZoneInfo(h.settings.local_timezone))
    if language.startswith("zh"):
        return f"{local.month}月{local.day}日"
    return f"{local.day} {local.strftime('%B')}"


WEBHOOKS: Webhooks = (  # on the voice blueprint (ivr/calls/routes.py): the same signature check applies
    ("/survey/start", survey_start),
    ("/survey/answer", survey_answer),
    ("/survey/comment", survey_comment),
    ("/survey/comment-recorded", survey_comment_recorded),
    ("/survey/status", survey_status),
)
