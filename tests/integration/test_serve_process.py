"""`run.py serve` as `make run` starts it: gunicorn, its workers and the scheduler beside it, one command,
SQLite; SIGTERM stops every process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import new_call_sid
from tests.server_process import ROOT, Server, init_demo_without_logins


def _children(pid: int) -> dict[int, str]:
    """The live child processes of `pid`, with their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        parent, state = int(stat.rsplit(")", 1)[1].split()[1]), stat.rsplit(")", 1)[1].split()[0]
        if parent == pid and state != "Z":
            found[int(entry.name)] = command
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_make_run_serves_through_gunicorn_with_the_scheduler_beside_it_and_stops_cleanly(tmp_path: Path):
    instance = tmp_path / "instance"
    env = os.environ | {"IVR_INSTANCE_DIR": str(instance), "DATABASE_URL": f"sqlite:///{instance}/hotline.db"}
    init_demo_without_logins(env)
    server = Server(
        env["DATABASE_URL"], tmp_path, tmp_path / "serve.log", serve=True, IVR_SCHEDULER_IN_PROCESS="1"
    )
    try:
        deadline = time.monotonic() + 10
        children = _children(server.process.pid)
        while time.monotonic() < deadline and len(children) < 3:
            time.sleep(0.2)
            children = _children(server.process.pid)
        schedulers = [pid for pid, command in children.items() if command.endswith("run.py scheduler")]
        workers = [pid for pid, command in children.items() if "run.py serve" in command]
        assert len(schedulers) == 1, f"one scheduler process beside the server: {children}"
        assert len(workers) == 2, f"gunicorn's two worker processes (IVR_WEB_WORKERS): {children}"
        assert "gunicorn" in server.log.read_text().lower() and "gthread" in server.log.read_text()

        greeting = server.post("/voice/incoming", {}, new_call_sid())
        assert greeting.find("Gather") is not None, "a signed webhook answered with the menu"

        os.kill(schedulers[0], signal.SIGKILL)  # out of memory, say: the dispatcher must come back
        deadline = time.monotonic() + 15
        again: list[int] = []
        while time.monotonic() < deadline and not again:
            time.sleep(0.2)
            again = [p for p, c in _children(server.process.pid).items() if c.endswith("run.py scheduler")]
        assert again and again[0] != schedulers[0], "a scheduler that ended is started again"
        schedulers += again
    finally:
        server.stop()
    assert server.process.returncode == 0, server.log.read_text()
    left = [pid for pid in [*schedulers, *workers] if _alive(pid)]
    assert not left, f"no process left after SIGTERM: {left}\n{server.log.read_text()}"


def test_serve_refuses_an_unsafe_configuration_before_starting_anything(tmp_path: Path):
    instance = tmp_path / "instance"
    env = os.environ | {
        "IVR_INSTANCE_DIR": str(instance),
        "DATABASE_URL": f"sqlite:///{instance / 'hotline.db'}",
        "IVR_TELEPHONY": "twilio",  # Twilio could reach it, and the token is the public development one
    }
    env.pop("TWILIO_AUTH_TOKEN", None)
    subprocess.run([sys.executable, "run.py", "init-db"], cwd=ROOT, env=env, check=True, capture_output=True)
    refused = subprocess.run(
        [sys.executable, "run.py", "serve", "--port", "5999"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1 and "refusing to start: TWILIO_AUTH_TOKEN" in refused.stderr
    assert "Starting gunicorn" not in refused.stderr
