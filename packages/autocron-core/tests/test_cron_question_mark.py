"""Issue 15, fault 24: ``?`` in the minute or hour field is ``*``, in process as in the crontab line."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from autocron_core.cron import Cron

NY = "America/New_York"


def _fires(expr: str, start: dt.datetime, count: int) -> list[dt.datetime]:
    cron, out, moment = Cron(expr, NY), [], start
    for _ in range(count):
        moment = cron.next_after(moment)
        out.append(moment)
    return out


def test_question_mark_hour_repeats_in_the_fall_back_hour() -> None:
    """`41 ? * * *` fires at 01:41 twice on 2026-11-01, as Debian's cron runs the `41 * * * *` it is given."""
    start = dt.datetime(2026, 11, 1, tzinfo=Cron("0 0 * * *", NY).tz)
    fires = _fires("41 ? * * *", start, 3)
    assert [(f.hour, f.minute, f.utcoffset()) for f in fires[1:3]] == [
        (1, 41, dt.timedelta(hours=-4)),
        (1, 41, dt.timedelta(hours=-5)),
    ]
    assert not Cron("41 ? * * *", NY).fixed


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["?", "*", "5", "0,30", "*/15", "10-20"]),
    st.sampled_from(["?", "*", "1", "2", "1-3", "*/2"]),
    st.sampled_from(["2026-03-08", "2026-11-01"]),
)
def test_question_mark_means_star_in_minute_and_hour(minute: str, hour: str, day: str) -> None:
    """Any ? in the minute or hour field fires exactly as * does, across both DST changes of New York."""
    start = dt.datetime.fromisoformat(day).replace(tzinfo=Cron("0 0 * * *", NY).tz)
    with_q = f"{minute} {hour} * * *"
    with_star = with_q.replace("?", "*")
    assert Cron(with_q, NY).fixed == Cron(with_star, NY).fixed
    assert _fires(with_q, start, 40) == _fires(with_star, start, 40)
