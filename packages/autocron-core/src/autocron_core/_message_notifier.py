"""The original AutoCron's notifier extension point, ``notify(message)``, as a channel.

The original design let users pass ``add_task(..., notifier=obj)`` where
``obj.notify(message)`` takes one string. Here a channel receives an
``Event``; ``MessageNotifier`` sits between the two, rendering the text the
original sent for the same outcome, so a notifier written for it reads what it
always read.
"""

from __future__ import annotations

from .events import Event, EventKind
from .notifications import Notice, format_event, notice_of

TYPE_CHECKING = False  # typing stays unimported at run time (see _tuples.py)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["MessageNotifier", "seed_message"]


def seed_message(event: Event, notice: Notice | None = None) -> str:
    """The message the original AutoCron sent for ``event``.

    A success (or recovery) reads ``Task 'x' completed successfully in 1.25
    seconds.``; a failure reads ``Task 'x' failed (attempt 2/3).`` then a blank
    line and ``Error: ...``. Other kinds, which the original never notified
    (retries, missed runs), read as ``format_event`` renders them.
    """
    notice = notice or notice_of(event)
    name = event.task_name
    if event.kind is EventKind.SUCCEEDED:
        seconds = (event.record.duration if event.record is not None else None) or 0.0
        return f"Task '{name}' completed successfully in {seconds:.2f} seconds."
    if notice.category == "failure":
        attempt = event.attempt or 1
        task = event.task
        attempts = task.policy.retries + 1 if task is not None else attempt
        error = event.error or event.kind.value
        text = f"Task '{name}' failed (attempt {attempt}/{attempts}).\n\nError: {error}"
        if notice.reminder:
            text += f"\n\nStill failing: {notice.failures} failure(s)"
            if notice.failing_since is not None:
                text += f" since {notice.failing_since.isoformat(timespec='seconds')}"
            text += "."
        return text
    return format_event(event, notice)


class MessageNotifier:
    """A channel that hands the original AutoCron's message text to ``target.notify(message)``.

    What ``add_task(..., notifier=obj)`` adds to the task's channels. The
    dispatcher logs and counts an exception ``target`` raises; it never
    reaches the task or the scheduler.

    Args:
        target: any object with a ``notify(message: str)`` method.
    """

    def __init__(self, target: Any) -> None:
        self.target = target

    @property
    def name(self) -> str:
        """The wrapped notifier's class name, for logs and failure counts."""
        return type(self.target).__name__

    def notify(self, event: Event) -> None:
        """Render ``event`` as the original's message and pass it on."""
        self.target.notify(seed_message(event))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MessageNotifier) and other.target is self.target

    def __hash__(self) -> int:
        return id(self.target)

    def __repr__(self) -> str:
        return f"MessageNotifier({self.target!r})"
