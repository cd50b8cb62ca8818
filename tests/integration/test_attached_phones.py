"""Terminal phones attached to a server in simulator mode: the attach webhook, the list the server's
processes share, and the adapter that reaches an attached phone's calls through its REST API."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import replace
from pathlib import Path

import pytest

from ivr.app import create_app
from ivr.telephony.attached import ATTACHMENT_TTL_SECONDS, AttachedPhonesTelephony, Attachment, Attachments
from ivr.telephony.base import TelephonyError
from ivr.telephony.factory import build_telephony, phone_attachments
from ivr.telephony.rest_server import create_rest_app, serve_in_thread
from ivr.telephony.simulator import Simulator
from ivr.telephony.transport import HttpTransport
from tests.helpers import PUBLIC_BASE_URL, TEST_AUTH_TOKEN, SignedClient

ACCOUNT = "AC" + "1" * 32


def _phone() -> Simulator:
    return Simulator(
        HttpTransport(), auth_token=TEST_AUTH_TOKEN, voice_url=f"{PUBLIC_BASE_URL}/voice/incoming"
    )


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens there once the probe is closed


def test_only_a_local_simulator_can_attach(tmp_path: Path) -> None:
    attachments = Attachments(tmp_path / "phones")
    for url in ("https://127.0.0.1:5001", "http://api.example.com:5001", "http://127.0.0.1"):
        with pytest.raises(ValueError, match="ApiBaseUrl"):
            attachments.attach(Attachment(url, ACCOUNT))
    with pytest.raises(ValueError, match="AccountSid"):
        attachments.attach(Attachment("http://127.0.0.1:5001", "nope"))
    assert attachments.current() == []


def test_the_list_holds_fresh_attachments_until_detached(tmp_path: Path) -> None:
    attachments = Attachments(tmp_path / "phones")
    first, second = Attachment("http://127.0.0.1:5001", ACCOUNT), Attachment("http://127.0.0.1:5002", ACCOUNT)
    attachments.attach(first)
    attachments.attach(second)
    assert set(attachments.current()) == {first, second}
    # A phone killed without detaching stops counting once it has been silent for the TTL.
    stale = time.time() - ATTACHMENT_TTL_SECONDS - 5
    os.utime(tmp_path / "phones" / "phone-5001.json", (stale, stale))
    assert attachments.current() == [second]
    attachments.detach(second)
    assert attachments.current() == []


def test_the_server_redirects_a_call_in_the_phone_that_holds_it(tmp_path: Path) -> None:
    phone, other = _phone(), _phone()
    sid = phone.create_call(to="+8613800000001", from_="+864008888888", url=f"{PUBLIC_BASE_URL}/voice/a")
    attachments = Attachments(tmp_path / "phones")
    with serve_in_thread(create_rest_app(phone)) as phone_api, serve_in_thread(create_rest_app(other)) as api:
        # A phone killed without detaching, one that does not know the call, and the one that does.
        attachments.attach(Attachment(f"http://127.0.0.1:{_closed_port()}", ACCOUNT))
        attachments.attach(Attachment(api, other.account_sid))
        attachments.attach(Attachment(phone_api, phone.account_sid))
        telephony = AttachedPhonesTelephony(attachments, TEST_AUTH_TOKEN)
        telephony.redirect_call(sid, f"{PUBLIC_BASE_URL}/voice/connect?e=1")
        assert phone.calls[sid].url == f"{PUBLIC_BASE_URL}/voice/connect?e=1"
        with pytest.raises(TelephonyError) as unknown:
            telephony.redirect_call("CA" + "f" * 32, f"{PUBLIC_BASE_URL}/voice/connect?e=2")
    # No live phone knows it; the dead one did not answer: an outage, not "the caller has gone".
    assert unknown.value.status is None


def test_an_unknown_call_is_twilios_not_found_when_every_phone_answers(tmp_path: Path) -> None:
    phone = _phone()
    attachments = Attachments(tmp_path / "phones")
    with serve_in_thread(create_rest_app(phone)) as api:
        attachments.attach(Attachment(api, phone.account_sid))
        with pytest.raises(TelephonyError) as unknown:
            AttachedPhonesTelephony(attachments, TEST_AUTH_TOKEN).redirect_call("CA" + "f" * 32, "http://x/y")
    assert unknown.value.status == 404
    with pytest.raises(TelephonyError, match="no telephony adapter"):
        AttachedPhonesTelephony(attachments, TEST_AUTH_TOKEN).create_call(to="+1", from_="+2", url="http://x")


def test_phones_attach_through_a_signed_webhook_when_the_server_takes_them(hotline) -> None:  # type: ignore[no-untyped-def]
    form = {"ApiBaseUrl": "http://127.0.0.1:5017", "AccountSid": ACCOUNT}
    refused = SignedClient(create_app(hotline=hotline)).post("/voice/simulator/attach", form)
    assert refused.status_code == 404 and "IVR_SIMULATOR_PHONES=1" in refused.get_data(as_text=True)

    hotline.settings = replace(hotline.settings, simulator_phones=True)
    assert isinstance(build_telephony(hotline.settings), AttachedPhonesTelephony)
    twilio = SignedClient(create_app(hotline=hotline))
    attachments = phone_attachments(hotline.settings)
    assert twilio.post("/voice/simulator/attach", form).status_code == 204
    assert attachments.current() == [Attachment("http://127.0.0.1:5017", ACCOUNT)]
    bad = twilio.post("/voice/simulator/attach", {**form, "ApiBaseUrl": "http://evil.example.com:80"})
    assert bad.status_code == 400 and "ApiBaseUrl" in bad.get_data(as_text=True)
    assert twilio.post("/voice/simulator/attach", form, sign=False).status_code == 403
    assert twilio.post("/voice/simulator/detach", form).status_code == 204
    assert attachments.current() == []
