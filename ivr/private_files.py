"""Files holding callers' numbers or voices belong to the service's own user: files 0600, directories 0700.

Those files are the SQLite database, the spool, local recordings and the secret key. The modes are set
explicitly so that the umask (022 by default, which leaves files readable by every local account) does not
decide."""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dir(path: Path) -> Path:
    """`path` as a directory only its owner can enter (created if missing, with missing parents)."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    _set_mode(path, PRIVATE_DIR)
    return path


def open_private(path: Path, flags: int = os.O_WRONLY | os.O_CREAT | os.O_EXCL) -> int:
    """Open (by default: create) `path` as a 0600 file; returns the descriptor."""
    fd = os.open(path, flags, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)  # os.open's mode is filtered by the umask; this is not
    except BaseException:
        os.close(fd)
        raise
    return fd


def private_file(path: Path) -> Path:
    """Make sure `path` exists as a 0600 file (an existing one is tightened, its content kept)."""
    try:
        os.close(open_private(path, os.O_RDONLY | os.O_CREAT))
    except PermissionError:  # another user's file: it stays as its owner made it
        log.warning("cannot make %s private (mode %o): not its owner", path, PRIVATE_FILE)
    return path


def _set_mode(path: Path, mode: int) -> None:
    try:
        if (path.stat().st_mode & 0o7777) != mode:
            os.chmod(path, mode)
    except PermissionError:  # another user's directory, e.g. a shared /tmp parent: leave it as it is
        log.warning("cannot make %s private (mode %o): not its owner", path, mode)
