"""Starting and stopping gunicorn on a free loopback port, the same way for every target."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

HOST = "127.0.0.1"  # the only address this benchmark ever serves on or sends to
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def free_port() -> int:
    """A port the kernel says is free on the loopback address right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@cache
def _control_socket_flags() -> tuple[str, ...]:
    """gunicorn 23+ opens a control socket in ~/.gunicorn by default: not wanted in a benchmark."""
    helptext = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--help"], capture_output=True, text=True, timeout=30, check=False
    ).stdout
    return ("--no-control-socket",) if "--no-control-socket" in helptext else ()


def _wait_until_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not listen on {HOST}:{port} within {START_TIMEOUT:.0f}s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """TERM the master (it stops its workers); KILL the whole group if it does not go in time."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: only gunicorn and its workers
        process.wait(STOP_TIMEOUT)


@contextmanager
def gunicorn(
    app: str, port: int, workers: int, env: dict[str, str], cwd: Path, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Serve `app` (a gunicorn factory spec) with sync workers on HOST:port for the duration of the block;
    the master's process (the leader of its own process group, workers included)."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--log-level",
        "warning",
        *_control_socket_flags(),
        app,
    ]
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_until_listening(process, port, log)
        yield process
    finally:
        _stop(process)


def cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """CPU time (user + system) used so far by the living processes of the server's process group."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after the name, which may hold spaces
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[2]) == process.pid:  # fields: state, ppid, pgrp, ... utime (11), stime (12)
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")
