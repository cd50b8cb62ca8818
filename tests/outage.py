"""Real database outages for tests: a SQLite file that vanishes, a PostgreSQL proxy we cut or hold."""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

from sqlalchemy import Engine


class SqliteOutage:
    """Moves the database file away (a directory stands in its place), so every open fails."""

    def __init__(self, path: Path, engine: Engine):
        self.path, self.engine = path, engine
        self.aside = path.with_name(path.name + ".aside")

    def stop(self) -> None:
        self.engine.dispose()  # close pooled connections, which would keep the old file open
        self.path.rename(self.aside)
        self.path.mkdir()

    def start(self) -> None:
        self.path.rmdir()
        self.aside.rename(self.path)
        self.engine.dispose()


class PostgresProxy:
    """A TCP forwarder in front of PostgreSQL; `stop` closes it and every connection through it; `hold`
    keeps every connection open and reads what either side sends, but forwards nothing until `release`
    (a hung database or network: no error, no reset, the server never sees the statement)."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = _free_port()
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._flowing = threading.Event()
        self._flowing.set()
        self.start()

    def hold(self) -> None:
        self._flowing.clear()

    def release(self) -> None:
        self._flowing.set()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(32)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
            listener, self._listener = self._listener, None
        if listener:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked in the other thread
            listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self._listener is not listener:  # stopped while accepting
                client.close()
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink, self._flowing), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket, flowing: threading.Event) -> None:
    try:
        while data := source.recv(65536):
            flowing.wait()  # held: the data was read (the sender sees it taken), but goes nowhere yet
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
