"""Disk full: the database and the spool on one full filesystem, a real server process (issue 13 point 1).

The gas-leak path answers exactly what it answers with room on the disk (the advice, the safety queue, the
duty engineer's line), the fallback answers the rescue from memory, and every event that could be kept
nowhere is one log line with its CallSid and kind.
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.configuration.menus.store import seed_default_menu
from ivr.configuration.rules.store import publish_rules
from ivr.db import migrate
from ivr.db.demo import load_demo_data
from ivr.db.session import make_engine, make_session_factory, unit_of_work
from tests.helpers import PUBLIC_BASE_URL, new_call_sid, open_all_day_rules, spoken
from tests.server_process import Server


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
    server = Server(url, small_disk, log)
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
