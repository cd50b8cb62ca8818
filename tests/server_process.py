"""The app served by a real gunicorn process, and Twilio-signed webhooks posted to it over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

from twilio.request_validator import RequestValidator

from tests.helpers import PUBLIC_BASE_URL, TEST_AUTH_TOKEN

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """gunicorn serving the app from the environment, and Twilio-signed posts to it."""

    def __init__(self, database_url: str, files: Path, log: Path, serve: bool = False, **settings: str):
        """gunicorn with one worker of 4 threads; `serve`: `run.py serve` instead, as `make run` starts it."""
        self.port = _free_port()
        env = os.environ | {
            "DATABASE_URL": database_url,
            "IVR_SPOOL_DIR": str(files / "spool"),
            "IVR_INSTANCE_DIR": str(files / "instance"),
            "TWILIO_AUTH_TOKEN": TEST_AUTH_TOKEN,
            "IVR_TELEPHONY": "simulator",
            "IVR_PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "IVR_SCHEDULER_IN_PROCESS": "0",
            "IVR_DUTY_ENGINEER_NUMBER": "+8613900000000",
            **settings,
        }
        self.log = log
        self.output = log.open("w")
        command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--workers", "1"]
        command += ["--threads", "4", "ivr.app:create_app()"]
        if serve:
            command = [sys.executable, "run.py", "serve", "--port", str(self.port)]
        self.process = subprocess.Popen(
            command,
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


def init_demo_without_logins(env: dict[str, str]) -> None:
    """`init-db --demo`, then without the demo users: a server with a public address (as these test servers
    have) refuses to start while logins with the published demo password exist."""
    init = [sys.executable, "run.py", "init-db", "--demo"]
    subprocess.run(init, cwd=ROOT, env=env, check=True, capture_output=True)
    from sqlalchemy import create_engine, text

    engine = create_engine(env["DATABASE_URL"])
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM password_links"))
        connection.execute(text("DELETE FROM users"))
    engine.dispose()
