"""The simulator's failed REST-style operation, carrying the status and code Twilio would answer."""

from __future__ import annotations


class SimulatorError(Exception):
    """A REST-style operation on the simulator failed; `status`/`code` mirror Twilio's answer."""

    def __init__(self, message: str, *, status: int, code: int) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
