"""Each hand-made part of the webhook hot path beside the library's documented way, in microseconds a call."""

# .venv/bin/python bench/hot_path_parts.py [--repeat 7]
# In one process, on a fresh SQLite file: (a) Werkzeug parsing a queue-wait webhook's form and query
# string; (b) taking the connection a webhook writes on (ivr/events/connection.py: its own one-connection
# pool, no reset on return) against a checkout from the engine's pool as configured by default; (c)
# binding and running one event's INSERT and the call's UPDATE on the DB-API cursor (FastStatement, kept)
# against `Connection.execute` with SQLAlchemy's compiled cache. The best of --repeat timings is printed,
# each a few thousand calls. Then the app's whole webhook in this process (bench/webhooks.py's signed
# greeting, menu and wait requests, straight into the WSGI app on the demo database, no HTTP server), in
# alternating blocks with the event store's statements on the cursor and through SQLAlchemy's execution:
# the best block of each (the machine's noise only ever adds) and the median. A part that saves x us of
# an answer that costs the server y us of CPU (bench/webhooks.py prints it) raises app/bare by x / y.
# See bench/README.md ("Hot path: hand-made parts against the libraries' hooks").

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import targets  # noqa: E402
from calls import prepare_calls  # noqa: E402
from flask import Request  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from ivr.db.migrate import upgrade  # noqa: E402
from ivr.db.session import make_engine  # noqa: E402
from ivr.events import statements, store  # noqa: E402
from ivr.events.connection import webhook_connection  # noqa: E402

WAIT_BODY = (
    b"AccountSid=ACbench&ApiVersion=2010-04-01&CallSid=CA0123456789abcdef0123456789abcdef&CallStatus=in-progress"
    b"&Called=%2B862100000000&Caller=%2B8613800000001&CurrentQueueSize=3&Direction=inbound"
    b"&From=%2B8613800000001&QueuePosition=2&QueueSid=QU0123&QueueTime=12&To=%2B862100000000"
)


def _environ(body: bytes) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/voice/wait",
        "QUERY_STRING": "q=general&l=zh-CN&e=0",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "wsgi.url_scheme": "http",
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }


def _form_costs() -> dict[str, Callable[[], Any]]:
    def parse() -> Any:
        request = Request(_environ(WAIT_BODY))
        return request.form, request.args

    return {"a form + query string: Werkzeug's Request": parse}


def _connection_costs(engine: Engine) -> dict[str, Callable[[], Any]]:
    def webhooks() -> None:
        with webhook_connection(engine) as connection, connection.begin():
            pass

    def engines() -> None:
        with engine.connect() as connection, connection.begin():
            pass

    return {
        "b connection: webhook_connection (own pool, no reset on return)": webhooks,
        "b connection: the engine's pool as configured by default (reset on return)": engines,
    }


def _statement_costs(engine: Engine) -> dict[str, Callable[[], Any]]:
    counter = iter(range(10**9))
    at = datetime(2026, 12, 7, 19, 0, 0, 123456)
    sid = "CA-bench-parts"
    insert_events = store._event_insert(engine.dialect)  # the compiled statement the event write uses
    update_call = store._FAST_UPDATES["menu.turn"]
    inserting: Any = insert_events.statement  # the very statements, through SQLAlchemy's execution
    updating: Any = update_call.statement

    def row() -> dict[str, Any]:
        n = next(counter)
        return {
            "key": f"{sid}:{n}",
            "call_sid": sid,
            "kind": "menu.turn",
            "at": at,
            "data": {"node": "main", "digits": "1", "visited": ["main", "billing"]},
            "recorded_at": at,
            "replayed": False,
        }

    values = {"sid": sid, "now": at, "at": at, "language": "zh-CN", "intent": None, "menu_version": 1}
    connection = engine.connect()

    def fast() -> None:
        with connection.begin():
            insert_events.execute(connection, row()).fetchone()
            update_call.execute(connection, values)

    def sqlalchemys() -> None:
        with connection.begin():
            connection.execute(inserting, row()).fetchone()
            connection.execute(updating, values)

    return {
        "c event INSERT + call UPDATE: FastStatement on the cursor": fast,
        "c event INSERT + call UPDATE: Connection.execute (compiled cache)": sqlalchemys,
    }


def _wsgi_environ(raw: bytes, port: int) -> dict[str, Any]:
    """The environ gunicorn would give the app for one prepared HTTP request."""
    head, _, body = raw.partition(b"\r\n\r\n")
    request_line, *lines = head.decode().split("\r\n")
    method, target, _ = request_line.split(" ")
    path, _, query = target.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": str(port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    for line in lines:
        name, _, value = line.partition(": ")
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = value
    return environ


def _no_start_response(*_args: Any) -> Any:
    return None


def _execute(statement: Any, connection: Any, params: Any) -> Any:
    return connection.execute(statement.statement, dict(params))


def _bind(statement: Any, _dialect: Any, params: Any) -> Any:
    return statements.Bound(statement.statement, dict(params))


def _run(bound: Any, connection: Any) -> Any:
    return connection.execute(bound.sql, bound.parameters)


def _through_sqlalchemy(on: bool) -> None:
    """Run the event store's statements through `Connection.execute` (on) or on the cursor (off)."""
    fast: Any = statements.FastStatement
    bound: Any = statements.Bound
    fast.execute, fast.bind, bound.run = (_execute, _bind, _run) if on else _CURSOR


_CURSOR = (statements.FastStatement.execute, statements.FastStatement.bind, statements.Bound.run)


def _app_webhook_us(calls: int, blocks: int) -> dict[str, list[float]]:
    """The app's cost per webhook (greeting, menu, wait in thirds) in this process, in blocks of `calls`
    calls, the event store's statements on the cursor and through SQLAlchemy's execution in turn."""
    port = 8000
    times: dict[str, list[float]] = {"cursor": [], "sqlalchemy": []}
    with tempfile.TemporaryDirectory(prefix="bench-parts-app-") as workdir:
        env = targets.environment(targets.APP, f"http://127.0.0.1:{port}", Path(workdir))
        targets.prepare(targets.APP, env)
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)
        try:
            from ivr.app import create_app

            app = create_app()
            for block in range(blocks + 1):  # block 0 warms up
                for variant in ("cursor", "sqlalchemy") if block % 2 else ("sqlalchemy", "cursor"):
                    _through_sqlalchemy(variant == "sqlalchemy")
                    base = f"http://127.0.0.1:{port}"
                    prepared = prepare_calls(base, f"127.0.0.1:{port}", targets.TOKEN, calls)
                    environs = [_wsgi_environ(request.raw, port) for request in prepared]
                    started = time.perf_counter()
                    for environ in environs:
                        answer = b"".join(app.wsgi_app(environ, _no_start_response))
                        assert b"<Response>" in answer, answer[:200]
                    if block:
                        times[variant].append((time.perf_counter() - started) / len(environs) * 1e6)
        finally:
            _through_sqlalchemy(False)
            os.environ.clear()
            os.environ.update(saved)
    return times


def _best_us(work: Callable[[], Any], number: int, repeat: int) -> float:
    work()  # compiled, connected, warmed
    return min(timeit.repeat(work, number=number, repeat=repeat)) / number * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7, help="timings of each part; the best is printed")
    parser.add_argument("--number", type=int, default=2000, help="calls in each timing")
    parser.add_argument("--app-calls", type=int, default=50, help="calls (3 webhooks each) in an app block")
    parser.add_argument("--app-blocks", type=int, default=40, help="app blocks of each variant")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-parts-") as workdir:
        url = f"sqlite:///{Path(workdir) / 'hotline.db'}"
        engine = make_engine(url)
        upgrade(engine)
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM calls"))
        groups = [_form_costs(), _connection_costs(engine), _statement_costs(engine)]
        for group in groups:
            for name, work in group.items():
                print(f"{name:<72} {_best_us(work, args.number, args.repeat):8.1f} us", flush=True)
        engine.dispose()
    times = _app_webhook_us(args.app_calls, args.app_blocks)
    for variant, values in times.items():
        name = f"the app: one webhook, statements through {variant}"
        print(f"{name:<72} {min(values):8.1f} us  (median {statistics.median(values):.1f})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
