"""worker.core.xmlfeed.parse_date: feedparser's own _parse_date, faster for plain RSS dates."""

from __future__ import annotations

import itertools

from feedparser.datetimes import _parse_date
from hypothesis import example, given
from hypothesis import strategies as st

from worker.core.xmlfeed import parse_date

_DAYS = ["Mon", "Sat", "Thu", "Tue", "Wed", "Fri", "Sun"]
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_ZONES = ["GMT", "+0000", "-0000", "+0800", "-0500", "+0530", "-0930", "+9959", "-9999", "+2400"]


def test_every_day_of_every_month() -> None:
    years = ["0000", "0001", "1900", "2000", "2024", "9999"]
    for day, month, year in itertools.product(range(0, 33), _MONTHS, years):
        for zone in _ZONES:
            for day_name in _DAYS:
                text = f"{day_name}, {day:02d} {month} {year} 00:00:00 {zone}"
                assert parse_date(text) == _parse_date(text), text


_NUMBER = st.integers(0, 99).map(lambda n: f"{n:02d}")
_PLAIN = st.builds(
    lambda day_name, day, month, year, hour, minute, second, zone:
    f"{day_name}, {day} {month} {year} {hour}:{minute}:{second} {zone}",
    st.sampled_from(_DAYS), _NUMBER, st.sampled_from(_MONTHS), st.integers(0, 9999).map(lambda n: f"{n:04d}"),
    _NUMBER, _NUMBER, _NUMBER, st.sampled_from(_ZONES),
)


@given(st.one_of(_PLAIN, _PLAIN.map(str.lower), _PLAIN.map(lambda text: text + " "),
                 _PLAIN.map(lambda text: text.replace(" ", "  ", 1)), st.text(max_size=40)))
@example("Sat, 01 Jun 2024 12:00:00 GMT")
@example("Sat, 31 Feb 2024 12:00:00 GMT")  # no such day: feedparser's other handlers try
@example("Mon, 01 Jan 0001 00:00:00 +0100")  # before year 1 in UTC
@example("Fri, 31 Dec 9999 23:59:59 -0100")  # after year 9999
@example("Sat, 01 Jun 2024 24:00:00 GMT")
@example("Sat, 01 Jun 2024 12:00:60 GMT")
@example("Sat, 01 Jun 2024 12:00:00 GMT\n")
@example("Sat, 01 Jun 2024 12:00:00 gmt")
def test_parse_date_is_feedparsers(text: str) -> None:
    assert parse_date(text) == _parse_date(text)
