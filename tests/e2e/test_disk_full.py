"""Disk full: the database and the spool on one full filesystem, a real server process (issue 13 point 1).

The gas-leak path answers exactly what it answers with room on the disk (the advice, the safety queue, the
duty engineer's line), the fallback answers the rescue from memory, and every event that could be kept
nowhere is one log line with its CallSid and kind.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator

from ivr.db import migrate
from ivr.db.demo import load_demo_data
from ivr.db.session import make_engine, make_session_factory, unit_of_work
from ivr.menus.store import seed_default_menu
from ivr.routes.store import publish_rules
from tests.helpers import PUBLIC_BASE_URL, TEST_AUTH_TOKEN, new_call_sid, open_all_day_rules, spoken

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs of our own, unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """gunicorn serving the app from the environment, and Twilio-signed posts to it."""

    def __init__(self, disk: Path, log: Path):
        self.port = _free_port()
        env = os.environ | {
            "DATABASE_URL": f"sqlite:///{disk / 'hotline.db'}",
            "IVR_SPOOL_DIR": str(disk / "spool"),
            "IVR_INSTANCE_DIR": str(disk / "instance"),
            "TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
            "IVR_TELEPHONY": "simulator",
            "IVR_PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "IVR_SCHEDULER_IN_PROCESS": "0",
            "IVR_DUTY_ENGINEER_NUMBER": "+8613900000000",
        }
        self.log = log
        self.output = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--workers", "1"]
            + ["--threads", "4", "ivr.app:create_app()"],
            cwd=ROOT,
            env=env,
            stdout=self.output,
            stderr=subprocess.STDOUT,
        )
        self.validator = RequestValidator(TEST_AUTH_TOKEN)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2):
                    return
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)
        self.stop()
        raise AssertionError("the server did not answer /health:\n" + log.read_text())

    def post(self, url: str, params: dict[str, str], call_sid: str) -> ET.Element:
        """A signed webhook, as Twilio sends it; the parsed TwiML of a 200 answer."""
        path = url.replace(PUBLIC_BASE_URL, "")
        form = {"CallSid": call_sid, "From": "+8613800000004", "To": "+864008888888", **params}
        signature = self.validator.compute_signature(PUBLIC_BASE_URL + path, form)
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=urllib.parse.urlencode(form).encode(),
            headers={"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/xml")
            return ET.fromstring(answer.read())

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.output.close()


def _shape(root: ET.Element) -> list[tuple[str, str]]:
    """A document as the caller meets it: each verb with its text, URLs without the query (which carries
    the call's own clock)."""
    shape = []
    for element in root.iter():
        text = (element.text or "").strip()
        for name in ("action", "waitUrl"):
            if element.get(name):
                text += f" {name}={element.get(name, '').split('?')[0]}"
        shape.append((element.tag, text))
    return shape


def _gas_leak_call(server: Server) -> tuple[str, list[list[tuple[str, str]]]]:
    """A "燃气泄漏" step at the root, the safety wait, the safety queue exit: what the caller was answered."""
    sid = new_call_sid()
    menu = server.post("/voice/incoming", {}, sid)
    leak = server.post(menu.find("Gather").get("action"), {"SpeechResult": "燃气泄漏"}, sid)
    enqueue = leak.find("Enqueue")
    waiting = server.post(enqueue.get("waitUrl"), {"QueuePosition": "1", "QueueTime": "5"}, sid)
    duty = server.post(enqueue.get("action"), {"QueueResult": "leave", "QueueTime": "61"}, sid)
    answers = [menu, leak, waiting, duty]
    assert "关闭燃气阀门" in spoken(leak) and enqueue.text == "safety"
    assert waiting.find("Pause") is not None
    assert duty.find("Dial/Number").text == "+8613900000000"
    return sid, [_shape(answer) for answer in answers]


def _fill(disk: Path) -> None:
    """Write until the filesystem refuses."""
    chunk = b"\0" * 65536
    with (disk / "filler").open("wb") as handle:
        try:
            while True:
                handle.write(chunk)
                handle.flush()
        except OSError:
            pass
    with pytest.raises(OSError):
        (disk / "probe").write_bytes(chunk)


def test_the_gas_leak_path_and_the_fallback_answer_as_usual_on_a_full_disk(small_disk, tmp_path):
    url = f"sqlite:///{small_disk / 'hotline.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    with unit_of_work(make_session_factory(engine)) as session:
        seed_default_menu(session)
        publish_rules(session, open_all_day_rules(), note="tests: open all day")
        load_demo_data(session)
    engine.dispose()

    log = tmp_path / "server.log"
    server = Server(small_disk, log)
    try:
        _, normal = _gas_leak_call(server)
        failed = {
            "ErrorCode": "11200",
            "ErrorUrl": f"{PUBLIC_BASE_URL}/voice/step?v=1&n=main&l=zh-CN&t=0&s=1",
        }
        fallback_normal = _shape(server.post("/voice/fallback", failed, new_call_sid()))

        _fill(small_disk)
        sid, on_full_disk = _gas_leak_call(server)
        rescued_sid = new_call_sid()
        rescue = server.post("/voice/fallback", failed, rescued_sid)
    finally:
        server.stop()
    written = log.read_text()

    assert on_full_disk == normal, "the caller hears exactly what they hear with room on the disk"
    assert _shape(rescue) == fallback_normal and rescue.find("Enqueue").text == "general"
    assert "系统暂时出现故障" in spoken(rescue), "the rescue question, not the last resort"
    lost = re.findall(r"events LOST to database and spool .*call_sid=(\S+) kinds=(\S+)", written)
    assert (sid, "call.started") in lost
    assert (sid, "menu.turn,call.queued") in lost, "the leak step's events, in one line"
    assert (sid, "queue.wait") in lost and (sid, "queue.left") in lost
    assert (rescued_sid, "call.rescued,call.queued") in lost
    assert "rescuing the call" not in written, "no webhook failed"
