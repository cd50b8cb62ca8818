"""A work order's stages and the moves allowed between them (pure: the standard library only)."""

from __future__ import annotations

OPENED = "opened"
HANDED_OVER = "handed_over"
ACCEPTED = "accepted"
IN_PROGRESS = "in_progress"
HANDLED = "handled"
ANSWERED = "answered"
CLOSED = "closed"
REOPENED = "reopened"

STAGES = (OPENED, HANDED_OVER, ACCEPTED, IN_PROGRESS, HANDLED, ANSWERED, CLOSED, REOPENED)

# From each stage, the stages it may move to. Owners may handle what they took themselves (first-contact
# ownership: opened -> handled), a gas leak goes straight to the crew (opened -> in_progress), a desk may
# pass an order on (handed_over/accepted -> handed_over), a result found wanting goes back to the field
# (handled -> in_progress), and a customer who disagrees with the answer reopens it back into work.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    OPENED: (HANDED_OVER, ACCEPTED, IN_PROGRESS, HANDLED),
    HANDED_OVER: (HANDED_OVER, ACCEPTED),
    ACCEPTED: (HANDED_OVER, IN_PROGRESS, HANDLED),
    IN_PROGRESS: (HANDED_OVER, HANDLED),
    HANDLED: (IN_PROGRESS, ANSWERED),
    ANSWERED: (CLOSED, REOPENED),
    CLOSED: (REOPENED,),
    REOPENED: (HANDED_OVER, ACCEPTED, IN_PROGRESS),
}

# The menu's coarse status ("order status" on the phone) that each stage reads as.
MENU_STATUS: dict[str, str] = {
    OPENED: "open",
    HANDED_OVER: "open",
    ACCEPTED: "open",
    REOPENED: "open",
    IN_PROGRESS: "dispatched",
    HANDLED: "completed",
    ANSWERED: "completed",
    CLOSED: "completed",
}

WORK_CLASSES = (
    "enquiry",  # an enquiry owed an answer
    "fault_repair",
    "meter_fault",
    "gas_leak",  # gas leak / safety
    "service_complaint",
    "quality_complaint",
    "safety_complaint",
    "account_business",  # open, transfer, close an account
    "installation",
)

# The menu's older kinds, read as classes.
CLASS_OF_KIND = {
    "fault": "fault_repair",
    "gas_leak": "gas_leak",
    "meter_fault": "meter_fault",
    "installation": "installation",
}


class TransitionRefused(ValueError):
    """A move the lifecycle does not allow; the message names the stages that are allowed."""

    def __init__(self, from_stage: str, to_stage: str) -> None:
        self.from_stage = from_stage
        self.to_stage = to_stage
        self.allowed = allowed_next(from_stage)
        if from_stage not in TRANSITIONS:
            message = f"unknown stage {from_stage!r}; the stages are: {', '.join(STAGES)}"
        elif to_stage not in TRANSITIONS:
            message = f"unknown stage {to_stage!r}; the stages are: {', '.join(STAGES)}"
        else:
            message = (
                f"a work order cannot go from {from_stage} to {to_stage}; "
                f"from {from_stage} it may go to: {', '.join(self.allowed)}"
            )
        super().__init__(message)


def allowed_next(from_stage: str) -> tuple[str, ...]:
    """The stages a work order at `from_stage` may move to (none for an unknown stage)."""
    return TRANSITIONS.get(from_stage, ())


def check_transition(from_stage: str, to_stage: str) -> None:
    """Refuse (TransitionRefused) a move the lifecycle does not allow."""
    if to_stage not in allowed_next(from_stage):
        raise TransitionRefused(from_stage, to_stage)


def menu_status(stage: str) -> str:
    """The menu's open/dispatched/completed reading of a stage."""
    return MENU_STATUS[stage]


def is_open(stage: str) -> bool:
    """Whether the work order still needs anything (every stage but closed)."""
    return stage != CLOSED
