"""The NamedTuple base the import-time modules use instead of typing's."""

from __future__ import annotations

import datetime as dt
import pickle
import typing

import pytest

from autocron_core import Event, EventKind, Policy, RunRecord, RunStatus
from autocron_core._options import TaskOptions
from autocron_core._tuples import NamedTuple


class Light(NamedTuple):
    """A light one."""

    name: str
    count: int = 1
    tags: tuple[str, ...] = ()

    @property
    def double(self) -> int:
        return self.count * 2

    def label(self) -> str:
        return f"{self.name}x{self.count}"


class Typed(typing.NamedTuple):
    """A light one."""

    name: str
    count: int = 1
    tags: tuple[str, ...] = ()

    @property
    def double(self) -> int:
        return self.count * 2

    def label(self) -> str:
        return f"{self.name}x{self.count}"


def test_builds_what_typing_namedtuple_builds() -> None:
    """Fields, defaults, methods, docstring, repr, equality and namedtuple helpers match typing's."""
    ours, theirs = Light("a", 3), Typed("a", 3)
    assert Light._fields == Typed._fields == ("name", "count", "tags")
    assert Light._field_defaults == Typed._field_defaults
    assert repr(ours).replace("Light", "Typed") == repr(theirs)
    assert ours == theirs == ("a", 3, ())
    assert (ours.double, ours.label()) == (theirs.double, theirs.label()) == (6, "ax3")
    assert ours._replace(count=5) == ("a", 5, ())
    assert ours._asdict() == theirs._asdict()
    assert Light._make(["b", 2, ("t",)]).tags == ("t",)
    assert Light("x").count == 1
    assert Light.__doc__ == "A light one."
    assert Light.__annotations__ == {"name": "str", "count": "int", "tags": "tuple[str, ...]"}
    assert Light.__qualname__ == "Light" and Light.__module__ == __name__
    with pytest.raises(AttributeError):
        ours.name = "b"  # type: ignore[misc]


def test_rejects_what_typing_rejects() -> None:
    """A field without a default after one with it, and overwriting namedtuple internals, are errors."""
    with pytest.raises(TypeError, match="without a default"):

        class Bad(NamedTuple):
            a: int = 1
            b: int

    with pytest.raises(AttributeError, match="_replace"):

        class Worse(NamedTuple):
            a: int

            def _replace(self) -> None:  # type: ignore[override]
                pass


def test_public_records_are_plain_named_tuples_that_pickle() -> None:
    """RunRecord, Event, Policy and TaskOptions keep their fields and defaults and survive pickling."""
    now = dt.datetime(2026, 11, 27, 12, tzinfo=dt.timezone.utc)
    record = RunRecord("t", now, 2, RunStatus.FAILED, now, now, "boom", "node", None)
    event = Event(EventKind.FAILED, "t", now, None, record, now, 2, "boom")
    for value in (record, event, Policy(), TaskOptions(tags=("a",))):
        assert isinstance(value, tuple)
        assert pickle.loads(pickle.dumps(value))  # noqa: S301 - our own bytes == value
    assert record.duration == 0.0 and record.key == ("t", now, 2)
    assert event.retry_in is None and event.recovered is False
    assert RunRecord("t", now).status is RunStatus.RUNNING
