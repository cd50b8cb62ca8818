"""The local spool: call events that could not reach the database wait here as files, then are replayed."""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from pathlib import Path

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ivr.events.kinds import EventRecord
from ivr.events.store import apply_event
from ivr.private_files import open_private, private_dir

log = logging.getLogger(__name__)


class Spool:
    """A directory of one-event JSON files, written atomically so a crash never leaves half a file."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def put(self, events: list[EventRecord]) -> None:
        """Keep events for later; fsync'd, because they are the only copy."""
        private_dir(self.directory)  # callers' numbers: the service user's alone, whatever the umask
        for event in events:
            name = f"{event.at.replace(':', '')}-{uuid.uuid4().hex}.json"
            temporary = self.directory / f".{name}.tmp"
            try:
                with os.fdopen(open_private(temporary), "w", encoding="utf-8") as handle:
                    handle.write(event.to_json())
                    handle.flush()
                    os.fsync(handle.fileno())
                temporary.rename(self.directory / name)
            except BaseException:  # a full disk: leave no half-written file behind
                with contextlib.suppress(OSError):
                    temporary.unlink(missing_ok=True)
                raise

    def pending(self) -> list[Path]:
        """Spooled files, oldest first (after putting back any a dead replayer had claimed)."""
        if not self.directory.exists():
            return []
        self._reclaim_orphans()
        return sorted(self.directory.glob("*.json"))

    def _reclaim_orphans(self) -> None:
        # A replayer that died between claiming a file and writing it leaves "<name>.claimed-<pid>":
        # if that process is gone, the event goes back in line (the unique key stops a double write).
        for claimed in self.directory.glob("*.claimed-*"):
            pid = claimed.suffix.removeprefix(".claimed-")
            if pid.isdigit() and not _alive(int(pid)):
                try:
                    claimed.rename(claimed.with_suffix(".json"))
                except FileNotFoundError:
                    continue

    def has_pending(self) -> bool:
        """Whether any event waits (cheap: stops at the first file)."""
        if not os.access(self.directory, os.F_OK):  # the usual case, without raising and catching an error
            return False
        try:
            with os.scandir(self.directory) as entries:
                return any(entry.name.endswith(".json") for entry in entries)
        except FileNotFoundError:
            return False

    def replay(self, factory: sessionmaker[Session]) -> int:
        """Write spooled events to the database, oldest first; stops at the first database failure."""
        written = 0
        for spooled in self.pending():
            # Claim the file by renaming it, so two replayers never write the same event twice.
            path = spooled.with_suffix(f".claimed-{os.getpid()}")
            try:
                spooled.rename(path)
            except FileNotFoundError:
                continue
            try:
                event = EventRecord.from_json(path.read_text(encoding="utf-8"))
            except (ValueError, TypeError):
                path.rename(path.with_suffix(".bad"))  # kept for a human, never silently dropped
                log.error("unreadable spool file %s set aside", path.name)
                continue
            try:
                with factory.kw["bind"].begin() as connection:
                    if apply_event(connection, event, replayed=True):
                        written += 1
            except (OperationalError, InterfaceError):
                path.rename(spooled)  # back in line for the next replay
                log.warning("database still unavailable; %d spooled events wait", len(self.pending()))
                break
            except Exception:
                # A poison event must not block the ones behind it: set it aside for a human.
                path.rename(spooled.with_suffix(".failed"))
                log.exception("spooled event %s could not be written; kept as .failed", spooled.name)
                continue
            path.unlink()
        return written


def _alive(pid: int) -> bool:
    """Whether a process with this id exists (signal 0 checks without touching it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
