"""The server under test in the storm: its database, its processes, their memory, what they left behind."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
ACCOUNT_SID = "AC" + "5" * 32
TOKEN = "storm-bench-auth-token-0123456789abcdef"  # real-looking: the app refuses the public development one
DUTY_NUMBER = "+8613900000000"
START_TIMEOUT, STOP_TIMEOUT = 60.0, 15.0
_FOREIGN_PREFIXES = ("IVR_", "TWILIO_", "DATABASE_URL", "BENCH_")
_LOG_SIGNS = {
    "Traceback": "tracebacks",
    "WORKER TIMEOUT": "gunicorn worker timeouts",
    "rescuing the call": "webhooks rescued after failing inside",
    "QueuePool limit": "connection-pool timeouts",
    "spooling": "event batches spooled",
    "could not connect": "redirects to an agent that failed",
    "maximum number of running instances reached": "scheduler runs skipped (the last still running)",
    "was missed by": "scheduler runs missed (late)",
}


def environment(database_url: str, workdir: Path, port: int, rest_url: str) -> dict[str, str]:
    """The server's environment: its own data, Twilio's REST API at the stand-in, a real-looking token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_PREFIXES)}
    env.update(
        DATABASE_URL=database_url,
        IVR_INSTANCE_DIR=str(workdir),
        IVR_SPOOL_DIR=str(workdir / "spool"),
        IVR_RECORDINGS_DIR=str(workdir / "recordings"),
        IVR_TELEPHONY="twilio",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=TOKEN,
        TWILIO_API_BASE_URL=rest_url,
        IVR_PUBLIC_BASE_URL=f"http://{HOST}:{port}",
        IVR_DUTY_ENGINEER_NUMBER=DUTY_NUMBER,
        # The stand-in's agents are simulated and keep no notes: without this each would stay in wrap-up
        # after its first call (the product's rule for people, issue 16).
        IVR_WRAP_UP_NEEDS_DISPOSITION="0",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def prepare(env: dict[str, str], workdir: Path, agents: int) -> None:
    """A fresh database with the demo data, every group open around the clock, and `agents` agents free."""
    url = env["DATABASE_URL"]
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as connection:  # the bench's own database: emptied for every run
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    _run(env, "init-db", "--demo")
    rules = workdir / "always-open-rules.toml"
    shipped = REPO / "ivr" / "configuration" / "rules" / "default_rules.toml"
    rules.write_text(_always_open(shipped), encoding="utf-8")
    _run(env, "publish", "rules", str(rules), "--note", "storm benchmark: every group open")
    _add_agents(url, agents)


def _run(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "run.py", *args], cwd=REPO, env=env, check=True, capture_output=True, timeout=180
    )


def _always_open(default_rules: Path) -> str:
    """The shipped rules with opening hours and holidays replaced by always_open: a storm at any hour."""
    lines = []
    for line in default_rules.read_text(encoding="utf-8").splitlines():
        if line.startswith("hours = "):
            lines.append("always_open = true")
        elif not line.startswith("holidays = "):
            lines.append(line)
    return "\n".join(lines) + "\n"


def _add_agents(url: str, count: int) -> None:
    """The demo's agents and more, up to `count`, all available: general, safety and billing skills."""
    from ivr.db.models import Agent, utcnow

    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        now = utcnow()
        present = session.query(Agent).order_by(Agent.id).all()
        for index in range(len(present), count):
            skills = {"general": 3, "safety": 3, "billing": 3}
            agent = Agent(
                name=f"storm agent {index + 1}",
                client_identity=f"storm-agent-{index + 1}",
                phone=f"+86137{index + 1:08d}",
                skills=skills,
                languages=["zh-CN", "en-US"],
            )
            agent.groups = sorted(skills)
            session.add(agent)
            present.append(agent)
        for agent in present[:count]:
            agent.state, agent.idle_since, agent.state_since = "available", now, now
        for agent in present[count:]:
            agent.state = "offline"
    engine.dispose()


# ---------------------------------------------------------------- processes


@dataclass
class Served:
    """The processes serving the hotline, and their logs."""

    processes: list[subprocess.Popen[bytes]]
    logs: list[Path]


def start(server: str, env: dict[str, str], workdir: Path, port: int) -> Served:
    """`run` is what `make run` starts (`run.py serve`); `serve-pg` is the same command on PostgreSQL;
    `gunicorn-pg` is 4 gunicorn sync workers and the scheduler in its own process."""
    commands: list[tuple[str, list[str], dict[str, str]]]
    if server in ("run", "serve-pg"):
        commands = [("serve", [sys.executable, "run.py", "serve", "--port", str(port)], env)]
    else:
        web_env = env | {"IVR_SCHEDULER_IN_PROCESS": "0"}
        gunicorn = [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "4",
            "--bind",
            f"{HOST}:{port}",
            "--log-level",
            "warning",
            "ivr.app:create_app()",
        ]
        commands = [
            ("gunicorn", gunicorn, web_env),
            ("scheduler", [sys.executable, "run.py", "scheduler"], env),
        ]
    served = Served([], [])
    for name, command, process_env in commands:
        log = workdir / f"{name}.log"
        with log.open("wb") as log_file:
            served.processes.append(
                subprocess.Popen(
                    command,
                    cwd=REPO,
                    env=process_env,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        served.logs.append(log)
    try:
        _wait_until_listening(served, port)
    except BaseException:
        stop(served)
        raise
    return served


def _wait_until_listening(served: Served, port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        for process, log in zip(served.processes, served.logs, strict=True):
            if process.poll() is not None:
                raise RuntimeError(f"{log.stem} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not listen on {HOST}:{port} within {START_TIMEOUT:.0f} s")


def stop(served: Served) -> None:
    """TERM each process group, KILL what is left after STOP_TIMEOUT."""
    for process in served.processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in served.processes:
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(STOP_TIMEOUT)


@dataclass
class Memory:
    """Sampled every half second over the server's process tree (psutil is not installed: /proc)."""

    hwm_kib: dict[int, int] = field(default_factory=dict)  # VmHWM (peak RSS) per process
    names: dict[int, str] = field(default_factory=dict)
    total_rss_peak_kib: int = 0  # the highest sum of VmRSS over the tree at one sample
    threads_peak: int = 0
    cpu_ticks: dict[int, int] = field(default_factory=dict)


class Watch:
    """A thread sampling the memory, threads and CPU of the server's processes and their children."""

    def __init__(self, roots: list[int]) -> None:
        self.roots, self.memory = roots, Memory()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="storm-watch", daemon=True)

    def __enter__(self) -> Memory:
        self._thread.start()
        return self.memory

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            self.sample()

    def sample(self) -> None:
        rss = threads = 0
        for pid in _tree(self.roots):
            status = _status(pid)
            if not status:
                continue
            memory = self.memory
            memory.hwm_kib[pid] = max(memory.hwm_kib.get(pid, 0), status.get("VmHWM", 0))
            memory.names.setdefault(pid, _command(pid))
            rss += status.get("VmRSS", 0)
            threads += status.get("Threads", 0)
            if (ticks := _cpu_ticks(pid)) is not None:
                memory.cpu_ticks[pid] = ticks
        self.memory.total_rss_peak_kib = max(self.memory.total_rss_peak_kib, rss)
        self.memory.threads_peak = max(self.memory.threads_peak, threads)


def _tree(roots: list[int]) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = list(roots), list(roots)
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def _status(pid: int) -> dict[str, int]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    values = {}
    for line in lines:
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS", "Threads"):
            values[name] = int(value.split()[0])
    return values


def _command(pid: int) -> str:
    try:
        parts = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [part.decode(errors="replace") for part in parts if part]
    return " ".join(word.rsplit("/", 1)[-1] for word in words[:4])


def _cpu_ticks(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])  # utime + stime


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(memory: Memory) -> float:
    """CPU time (user and system) of all the server's processes, as last sampled."""
    return sum(memory.cpu_ticks.values()) / CLOCK_TICKS


# ---------------------------------------------------------------- after the run


@dataclass
class Dispatcher:
    """What the database says about the dispatcher during the storm."""

    claims: int = 0
    lost_races: int = 0
    claim_cycles: int = 0
    cycle_gap_p50: float = float("nan")  # seconds between successive dispatches that claimed someone
    cycle_gap_max: float = float("nan")
    idle_to_claim: list[float] = field(default_factory=list)  # an agent free again -> its next claim
    entries: Counter[str] = field(default_factory=Counter)  # queue entries by status


def dispatcher_figures(database_url: str) -> Dispatcher:
    engine = create_engine(database_url)
    figures = Dispatcher()
    try:
        with engine.connect() as connection:
            decisions = connection.execute(
                text("SELECT at, outcome FROM routing_decisions ORDER BY at")
            ).all()
            changes = connection.execute(
                text("SELECT agent_id, state, at FROM agent_state_changes ORDER BY agent_id, at, id")
            ).all()
            entries = connection.execute(text("SELECT status, count(*) FROM queue_entries GROUP BY status"))
            figures.entries.update({str(status): int(count) for status, count in entries})
    finally:
        engine.dispose()
    claimed = [_moment(at) for at, outcome in decisions if outcome == "claimed"]
    figures.claims, figures.lost_races = len(claimed), sum(1 for _, o in decisions if o == "lost-race")
    cycles = sorted(set(claimed))
    figures.claim_cycles = len(cycles)
    gaps = [b - a for a, b in zip(cycles, cycles[1:], strict=False)]
    if gaps:
        figures.cycle_gap_p50, figures.cycle_gap_max = statistics.median(gaps), max(gaps)
    free_since: dict[int, float] = {}
    for agent_id, state, at in changes:
        if state == "available":
            free_since[agent_id] = _moment(at)
        elif state == "ringing" and agent_id in free_since:
            figures.idle_to_claim.append(_moment(at) - free_since.pop(agent_id))
    return figures


def _moment(value: object) -> float:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.timestamp()


def log_findings(logs: list[Path]) -> list[str]:
    notes = []
    for log in logs:
        content = log.read_text(errors="replace") if log.exists() else ""
        for sign, meaning in _LOG_SIGNS.items():
            if count := content.count(sign):
                notes.append(f"{log.stem}: {count} {meaning} ({sign!r})")
    return notes
