"""A Twilio-compatible REST endpoint (calls, recordings, call queues, phone numbers) backed by a Simulator."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from email.utils import format_datetime
from typing import Any

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.serving import WSGIRequestHandler, make_server

from ivr.telephony.audio import silent_mp3
from ivr.telephony.base import CallQueue
from ivr.telephony.call_flow import SimulatedCall
from ivr.telephony.sim_errors import SimulatorError
from ivr.telephony.sim_numbers import PhoneNumber
from ivr.telephony.simulator import Simulator

API = "/2010-04-01/Accounts/<account_sid>"


def create_rest_app(sim: Simulator) -> Flask:
    """A Flask app answering Twilio's Calls and Recordings REST paths for `sim`'s account."""
    app = Flask(__name__)
    # Every request seen, so tests can prove a client really talked to this server.
    app.config["REST_REQUESTS"] = seen = []

    @app.before_request
    def authenticate() -> ResponseReturnValue | None:
        seen.append((request.method, request.path))
        auth = request.authorization
        account = (request.view_args or {}).get("account_sid")
        if (
            auth is None
            or auth.username != sim.account_sid
            or auth.password != sim.auth_token
            or account != sim.account_sid
        ):
            return _error(401, 20003, "Authenticate")
        return None

    @app.post(f"{API}/Calls.json")
    def create_call(account_sid: str) -> ResponseReturnValue:
        form = request.form
        for field, code in (("To", 21201), ("From", 21213), ("Url", 21205)):
            if not form.get(field):
                return _error(400, code, f"Required parameter {field} missing.")
        sid = sim.create_call(
            to=form["To"],
            from_=form["From"],
            url=form["Url"],
            method=form.get("Method", "POST").upper(),
            status_callback=form.get("StatusCallback"),
            status_callback_event=form.getlist("StatusCallbackEvent"),
            machine_detection=form.get("MachineDetection") in ("Enable", "DetectMessageEnd"),
        )
        return jsonify(_call_json(sim, sim.call(sid))), 201

    @app.get(f"{API}/Calls.json")
    def list_calls(account_sid: str) -> ResponseReturnValue:
        # Twilio's documented filters: To, From, Status, and StartTime>= as a date ("StartTime>=2026-03-07"
        # reaches a server as the key "StartTime>"); a full timestamp counts by its date, as there.
        args = request.args
        started = args.get("StartTime>") or args.get("StartTime>=")
        try:
            started_from = date.fromisoformat(started[:10]) if started else None
        except ValueError:
            return _error(400, 20001, f"StartTime> must be a date, YYYY-MM-DD (got {started!r})")
        calls = sim.list_calls(
            to=args.get("To"), from_=args.get("From"), status=args.get("Status"), started_from=started_from
        )
        return _page(sim, "Calls", "calls", [_call_json(sim, call) for call in calls])

    @app.post(f"{API}/Calls/<call_sid>.json")
    def update_call(account_sid: str, call_sid: str) -> ResponseReturnValue:
        form = request.form
        try:
            if form.get("Status") in ("completed", "canceled"):
                sim.hangup(call_sid)
            elif form.get("Url"):
                sim.redirect(call_sid, form["Url"], form.get("Method", "POST").upper())
            else:
                return _error(400, 21218, "Url, Twiml or Status is required.")
            return jsonify(_call_json(sim, sim.call(call_sid)))
        except SimulatorError as exc:
            return _error(exc.status, exc.code, str(exc))

    @app.get(f"{API}/Recordings/<recording_sid>.wav")
    def recording_wav(account_sid: str, recording_sid: str) -> ResponseReturnValue:
        try:
            return Response(sim.recording_audio(recording_sid), mimetype="audio/x-wav")
        except SimulatorError as exc:
            return _error(exc.status, exc.code, str(exc))

    @app.delete(f"{API}/Recordings/<recording_sid>.json")
    def delete_recording(account_sid: str, recording_sid: str) -> ResponseReturnValue:
        try:
            sim.delete_recording(recording_sid)
        except SimulatorError as exc:
            return _error(exc.status, exc.code, str(exc))
        return Response(status=204)

    @app.get(f"{API}/Recordings/<recording_sid>.mp3")
    def recording_mp3(account_sid: str, recording_sid: str) -> ResponseReturnValue:
        try:
            sim.recording_audio(recording_sid)
        except SimulatorError as exc:
            return _error(exc.status, exc.code, str(exc))
        return Response(silent_mp3(2.0), mimetype="audio/mpeg")

    @app.get(f"{API}/Queues.json")
    def list_queues(account_sid: str) -> ResponseReturnValue:
        queues = sim.list_queues()
        return _page(sim, "Queues", "queues", [_queue_json(sim, queue) for queue in queues])

    @app.post(f"{API}/Queues.json")
    def create_queue(account_sid: str) -> ResponseReturnValue:
        name = request.form.get("FriendlyName", "")
        if not name or len(name) > 64:
            return _error(400, 20001, "FriendlyName is required, up to 64 characters.")
        try:
            size = _max_size(request.form.get("MaxSize"))
            return jsonify(_queue_json(sim, sim.create_queue(name, size))), 201
        except SimulatorError as exc:
            return _error(exc.status, exc.code, str(exc))

    @app.get(f"{API}/Queues/<queue_sid>.json")
    def fetch_queue(account_sid: str, queue_sid: str) -> ResponseReturnValue:
        try:
            return jsonify(_queue_json(sim, sim.describe_queue(queue_sid)))
        except SimulatorError as exc:
            return _error(exc.status, exc.code, str(exc))

    @app.post(f"{API}/Queues/<queue_sid>.json")
    def update_queue(account_sid: str, queue_sid: str) -> ResponseReturnValue:
        try:
            size = _max_size(request.form.get("MaxSize"))
            queue = sim.describe_queue(queue_sid)
            if size is not None:
                queue = sim.resize_queue(queue_sid, size)
            return jsonify(_queue_json(sim, queue))
        except SimulatorError as exc:
            return _error(exc.status, exc.code, str(exc))

    add_phone_number_routes(app, sim)
    return app


def _max_size(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    if not text.isdigit():
        raise SimulatorError(f"MaxSize must be a whole number (got {text!r})", status=400, code=20001)
    return int(text)


def _queue_json(sim: Simulator, queue: CallQueue) -> dict[str, object]:
    now = format_datetime(sim.clock.datetime())
    return {
        "sid": queue.sid,
        "account_sid": sim.account_sid,
        "friendly_name": queue.name,
        "max_size": queue.max_size,
        "current_size": queue.current_size,
        "average_wait_time": sim.average_wait(queue.name),
        "date_created": now,
        "date_updated": now,
        "uri": f"/2010-04-01/Accounts/{sim.account_sid}/Queues/{queue.sid}.json",
        "subresource_uris": {
            "members": f"/2010-04-01/Accounts/{sim.account_sid}/Queues/{queue.sid}/Members.json"
        },
    }


def add_phone_number_routes(app: Flask, sim: Simulator) -> None:
    """The IncomingPhoneNumbers resource: list (by PhoneNumber), fetch, and update a number's voice URLs."""

    @app.get(f"{API}/IncomingPhoneNumbers.json")
    def list_numbers(account_sid: str) -> ResponseReturnValue:
        numbers = sim.numbers.list(request.args.get("PhoneNumber"))
        items = [_number_json(sim, number) for number in numbers]
        return _page(sim, "IncomingPhoneNumbers", "incoming_phone_numbers", items)

    @app.get(f"{API}/IncomingPhoneNumbers/<number_sid>.json")
    def fetch_number(account_sid: str, number_sid: str) -> ResponseReturnValue:
        try:
            return jsonify(_number_json(sim, sim.numbers.get(number_sid)))
        except SimulatorError as exc:
            return _error(exc.status, exc.code, str(exc))

    @app.post(f"{API}/IncomingPhoneNumbers/<number_sid>.json")
    def update_number(account_sid: str, number_sid: str) -> ResponseReturnValue:
        fields = {
            "VoiceUrl": "voice_url",
            "VoiceMethod": "voice_method",
            "VoiceFallbackUrl": "voice_fallback_url",
            "VoiceFallbackMethod": "voice_fallback_method",
        }
        changes = {name: request.form[key] for key, name in fields.items() if key in request.form}
        try:
            return jsonify(_number_json(sim, sim.numbers.update(number_sid, **changes)))
        except SimulatorError as exc:
            return _error(exc.status, exc.code, str(exc))


def _number_json(sim: Simulator, number: PhoneNumber) -> dict[str, object]:
    now = format_datetime(sim.clock.datetime())
    return {
        "sid": number.sid,
        "account_sid": sim.account_sid,
        "phone_number": number.phone_number,
        "friendly_name": number.phone_number,
        "voice_url": number.voice_url or None,
        "voice_method": number.voice_method,
        "voice_fallback_url": number.voice_fallback_url or None,
        "voice_fallback_method": number.voice_fallback_method,
        "capabilities": {"voice": True, "sms": False, "mms": False, "fax": False},
        "api_version": "2010-04-01",
        "date_created": now,
        "date_updated": now,
        "uri": f"/2010-04-01/Accounts/{sim.account_sid}/IncomingPhoneNumbers/{number.sid}.json",
    }


class _QuietHandler(WSGIRequestHandler):
    """Logs only errors, so test output is not flooded with access lines."""

    def log(self, type: str, message: str, *args: object) -> None:
        if type == "error":
            super().log(type, message, *args)


@contextmanager
def serve_in_thread(app: Flask, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve a WSGI app (e.g. create_rest_app(sim)) from a thread; yields its base URL, stops it on exit."""
    server = make_server(host, port, app, threaded=False, request_handler=_QuietHandler)
    # A short poll interval keeps shutdown (and so every test using this) fast.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="twilio-sim-rest", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def _call_json(sim: Simulator, call: SimulatedCall) -> dict[str, object]:
    result = call.result
    now = format_datetime(sim.clock.datetime())
    created = sim.created.get(call.sid)
    started = sim.start_time(call)
    uri = f"/2010-04-01/Accounts/{sim.account_sid}/Calls/{call.sid}.json"
    return {
        "sid": call.sid,
        "account_sid": sim.account_sid,
        "parent_call_sid": None,
        "to": result.to,
        "to_formatted": result.to,
        "from": result.from_,
        "from_formatted": result.from_,
        "phone_number_sid": None,
        "status": call.status,
        "direction": result.direction,
        "answered_by": call.answered_by if call.ended else None,
        "api_version": "2010-04-01",
        "date_created": format_datetime(created) if created else now,
        "date_updated": now,
        "start_time": format_datetime(started) if started else None,
        "end_time": None,
        "duration": str(result.duration) if call.ended else None,
        "price": None,
        "price_unit": "USD",
        "caller_name": None,
        "forwarded_from": None,
        "group_sid": None,
        "queue_time": "0",
        "trunk_sid": None,
        "uri": uri,
        "subresource_uris": {"recordings": uri.replace(".json", "/Recordings.json")},
    }


def _page(sim: Simulator, resource: str, key: str, items: list[dict[str, Any]]) -> Response:
    """A list answer shaped like Twilio's: one page holds them all (the simulator never needs paging)."""
    uri = f"/2010-04-01/Accounts/{sim.account_sid}/{resource}.json"
    page = {
        key: items,
        "end": max(0, len(items) - 1),
        "first_page_uri": uri,
        "next_page_uri": None,
        "page": 0,
        "page_size": len(items),
        "previous_page_uri": None,
        "start": 0,
        "uri": uri,
    }
    return jsonify(page)


def _error(status: int, code: int, message: str) -> tuple[Response, int]:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return jsonify(body), status
