"""Simulated people on the phone: a scripted caller for tests and an interactive one for a terminal."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from ivr.telephony.call_result import TranscriptEntry

_KEYS = re.compile(r"^[0-9*#]+$")


@dataclass
class CallerAction:
    """What the caller does when asked: kind is digits, speech, silence, record or hangup."""

    kind: str
    value: str = ""
    # True when the input interrupts the prompts nested in <Gather> (barge-in).
    barge_in: bool = False
    seconds: float | None = None


@dataclass
class GatherPrompt:
    """A <Gather> waiting for the caller."""

    inputs: frozenset[str]
    num_digits: int | None
    finish_on_key: str
    timeout: int
    language: str
    hints: str
    prompts: list[TranscriptEntry] = field(default_factory=list)


@dataclass
class RecordPrompt:
    """A <Record> waiting for the caller."""

    max_length: int
    finish_on_key: str


@dataclass
class QueueStatus:
    """A queued caller's situation after one pass of the wait music."""

    queue: str
    position: int
    queue_time: int
    passes: int


class Caller(Protocol):
    """The interface the simulator uses to consult the person on the line."""

    def hear(self, entry: TranscriptEntry) -> None:
        """Called for everything the caller hears or that happens to the call."""
        ...

    def gather(self, prompt: GatherPrompt) -> CallerAction:
        """Answer a <Gather>."""
        ...

    def record(self, prompt: RecordPrompt) -> CallerAction:
        """Answer a <Record>."""
        ...

    def keep_waiting(self, status: QueueStatus) -> bool:
        """Return False to hang up while waiting in a queue."""
        ...


def parse_action(item: str) -> CallerAction:
    """Parse one script item: keys like "123#", "speech:text", "record:SECONDS", "silence", "hangup".

    A leading "!" makes the input barge in on the prompts nested in the <Gather>.
    """
    barge_in = item.startswith("!")
    body = item[1:] if barge_in else item
    if body in ("", "silence"):
        return CallerAction("silence")
    if body == "hangup":
        return CallerAction("hangup")
    if body.startswith("speech:"):
        return CallerAction("speech", body[len("speech:") :], barge_in=barge_in)
    if body.startswith("record:"):
        return CallerAction("record", seconds=float(body[len("record:") :]))
    if _KEYS.match(body):
        return CallerAction("digits", body, barge_in=barge_in)
    raise ValueError(f"not a caller script item: {item!r}")


class ScriptedCaller:
    """Consumes one script item per <Gather> or <Record>; hangs up when the script runs out."""

    def __init__(self, script: Iterable[str] = (), *, max_queue_loops: int = 2) -> None:
        self.actions = [parse_action(item) for item in script]
        self.max_queue_loops = max_queue_loops
        self.heard: list[TranscriptEntry] = []

    def hear(self, entry: TranscriptEntry) -> None:
        """Remember what was heard."""
        self.heard.append(entry)

    def gather(self, prompt: GatherPrompt) -> CallerAction:
        """Next script item (a "record:" item counts as silence here)."""
        action = self._next()
        return CallerAction("silence") if action.kind == "record" else action

    def record(self, prompt: RecordPrompt) -> CallerAction:
        """Next script item: "record:N" speaks N seconds, "speech:..." speaks the text."""
        return self._next()

    def keep_waiting(self, status: QueueStatus) -> bool:
        """Stay for the first fetch of the wait document plus `max_queue_loops` re-fetches."""
        return status.passes <= self.max_queue_loops

    @property
    def remaining(self) -> int:
        """Script items not yet used."""
        return len(self.actions)

    def _next(self) -> CallerAction:
        return self.actions.pop(0) if self.actions else CallerAction("hangup")


class InteractiveCaller:
    """A person at a terminal: prompts are printed, keys or speech are typed."""

    HELP = "keys (e.g. 1 or 123#), s:phrase to speak, empty for silence, q to hang up"

    def __init__(
        self,
        input_fn: Callable[[str], str] = input,
        output_fn: Callable[[str], None] = print,
    ) -> None:
        self.input_fn = input_fn
        self.output_fn = output_fn
        # Prompts nested in <Gather> are shown before asking, so hear() must not repeat them.
        self._shown: list[TranscriptEntry] = []

    def hear(self, entry: TranscriptEntry) -> None:
        """Print what happens on the call."""
        if any(entry is shown for shown in self._shown):
            return
        self.output_fn(entry.describe())

    def gather(self, prompt: GatherPrompt) -> CallerAction:
        """Show the prompts, then ask for keys or speech until the answer is understood."""
        self._shown = list(prompt.prompts)
        for entry in prompt.prompts:
            self.output_fn(entry.describe())
        accepts = "/".join(sorted(prompt.inputs))
        while True:
            answer = self.input_fn(f"({accepts}; {self.HELP}) > ").strip()
            if answer == "q":
                return CallerAction("hangup")
            if answer.startswith("s:"):
                return CallerAction("speech", answer[2:].strip())
            if answer == "" or _KEYS.match(answer):
                return CallerAction("digits", answer) if answer else CallerAction("silence")
            self.output_fn(f"not understood: {answer!r}")

    def record(self, prompt: RecordPrompt) -> CallerAction:
        """Ask how many seconds to speak for the recording."""
        answer = self.input_fn("(recording: seconds to speak, empty for silence, q to hang up) > ").strip()
        if answer == "q":
            return CallerAction("hangup")
        try:
            seconds = float(answer) if answer else 0.0
        except ValueError:
            seconds = 5.0
        return CallerAction("record", seconds=seconds) if seconds > 0 else CallerAction("silence")

    def keep_waiting(self, status: QueueStatus) -> bool:
        """Ask whether to keep holding."""
        self.output_fn(f"[in queue '{status.queue}', position {status.position}, {status.queue_time} s]")
        return self.input_fn("(Enter to keep holding, q to hang up) > ").strip() != "q"
