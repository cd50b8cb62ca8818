"""What a simulated call produced: transcript, requests sent, errors and outcome."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TranscriptEntry:
    """One thing that happened on the call, in order.

    kind is one of say, play, pause, gather, input, enqueue, wait, leave, dial, bridged, record,
    redirect, hangup, reject, error.  For kind "input", detail["type"] is digits, speech,
    silence or hangup.
    """

    kind: str
    text: str = ""
    language: str | None = None
    voice: str | None = None
    url: str | None = None
    digits: str | None = None
    detail: dict[str, object] = field(default_factory=dict)
    at: float | None = None  # simulated seconds when it began (set when logged, unless given)

    def describe(self) -> str:
        """A one-line, human-readable rendering (used by the terminal phone)."""
        label = self.kind
        if self.language or self.voice:
            label += " " + "/".join(v for v in (self.language, self.voice) if v)
        parts = [p for p in (self.text, self.url, self.digits) if p]
        extra = ", ".join(f"{k}={v}" for k, v in self.detail.items() if k != "type")
        if self.kind == "input":
            parts.insert(0, str(self.detail.get("type", "")))
            extra = ""
        body = " ".join(parts)
        return f"[{label}]" + (f" {body}" if body else "") + (f" ({extra})" if extra else "")


@dataclass
class SentRequest:
    """One HTTP request the simulator made, as Twilio would have."""

    url: str
    method: str
    params: dict[str, str]
    headers: dict[str, str]
    purpose: str
    status: int | None = None


@dataclass
class CallError:
    """A failure Twilio would report in its debugger, with Twilio's error code."""

    code: int
    message: str
    url: str


@dataclass
class CallResult:
    """Everything observable about one simulated call."""

    call_sid: str
    from_: str
    to: str
    direction: str
    transcript: list[TranscriptEntry] = field(default_factory=list)
    requests: list[SentRequest] = field(default_factory=list)
    errors: list[CallError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ended_by: str | None = None
    status: str | None = None
    duration: int = 0
    final_queue: str | None = None
    final_queue_position: int | None = None
    dialled: list[str] = field(default_factory=list)
    queue_results: list[str] = field(default_factory=list)
    recordings: list[str] = field(default_factory=list)

    def entries(self, kind: str) -> list[TranscriptEntry]:
        """Transcript entries of one kind."""
        return [e for e in self.transcript if e.kind == kind]

    def said(self) -> list[str]:
        """Texts spoken with <Say>, in order."""
        return [e.text for e in self.entries("say")]

    def spoken(self) -> str:
        """All <Say> texts joined by newlines, handy for `in` checks."""
        return "\n".join(self.said())

    def requests_to(self, fragment: str) -> list[SentRequest]:
        """Requests whose URL contains `fragment`."""
        return [r for r in self.requests if fragment in r.url]

    def summary(self) -> str:
        """Where the call ended up, in one line a terminal user can read."""
        where = self._destination()
        how = {
            "caller-hangup": "caller hung up",
            "hangup-verb": "<Hangup>",
            "document-end": "TwiML ended",
            "reject": "rejected",
            "error": "application error",
            "api": "ended through the REST API",
        }.get(self.ended_by or "", self.ended_by or "still live")
        if self.ended_by == "not-answered":
            how = f"not answered ({self.status})"
        if self.ended_by == "error" and self.errors:
            how += f" ({self.errors[-1].code}: {self.errors[-1].message})"
        return f"{where}; {how} after {self.duration} s" if where else f"{how} after {self.duration} s"

    def _destination(self) -> str:
        for entry in reversed(self.transcript):
            if entry.kind == "dial":
                return f"dialled {entry.text} ({entry.detail.get('status')})"
            if entry.kind == "bridged":
                return f"connected to an agent from queue '{entry.text}'"
            if entry.kind in ("enqueue", "wait") and self.final_queue:
                last = self.queue_results[-1] if self.queue_results else None
                if last in (None, "hangup"):
                    return f"queued in '{self.final_queue}' (position {self.final_queue_position})"
                return f"left queue '{self.final_queue}' ({last})"
            if entry.kind == "record":
                return "left a recording"
            if entry.kind == "reject":
                return "rejected"
        return ""
