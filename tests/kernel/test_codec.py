"""The SQLite text encoding of timestamps: one format, whatever the input's zone.

``encode`` formats with ``isoformat`` on the hot path; this checks it is the text the
kernel has always stored (``strftime`` of the UTC time), since rows are compared and
sorted as that text, and that ``decode_rows`` reads it back as aware UTC datetimes
(or, with ``iso_times``, as ``isoformat()`` text).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from portalis.core.codec import decode_row, decode_rows, encode, iso_text
from portalis.core.registry import PortalTable

zones = st.one_of(st.none(), st.just(dt.UTC),
                  st.integers(min_value=-14 * 60, max_value=14 * 60).map(
                      lambda m: dt.timezone(dt.timedelta(minutes=m))))
moments = st.builds(lambda d, tz: d.replace(tzinfo=tz),
                    st.datetimes(min_value=dt.datetime(2, 1, 1),
                                 max_value=dt.datetime(9998, 12, 31)), zones)


@settings(max_examples=500, deadline=None)
@given(moments)
def test_sqlite_time_text_is_the_strftime_text(moment: dt.datetime) -> None:
    utc = (moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None
           else moment.astimezone(dt.UTC))
    assert encode(moment, "sqlite") == utc.strftime("%Y-%m-%d %H:%M:%S.%f+00:00")
    assert encode(moment, "postgres") is moment


class _Case:
    """A table shaped like ``case`` for the decoders: a bool and a datetime column."""

    sqlite_decoders = (("closed", "bool"), ("modified", "datetime"))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.fixed_dictionaries({
    "id": st.integers(), "closed": st.sampled_from([None, 0, 1]),
    # (years before 1000 are stored unpadded, which fromisoformat does not read back)
    "modified": st.one_of(st.none(), moments.filter(lambda m: m.year > 1000).map(
        lambda m: encode(m, "sqlite"))),
    "_can_write": st.sampled_from([0, 1])}), max_size=5))
def test_sqlite_rows_decode_to_bools_and_aware_utc_times(rows: list[dict[str, Any]]) -> None:
    table: PortalTable = _Case()  # type: ignore[assignment]
    expected = [{
        "id": r["id"], "closed": None if r["closed"] is None else bool(r["closed"]),
        "modified": None if r["modified"] is None
        else dt.datetime.strptime(r["modified"], "%Y-%m-%d %H:%M:%S.%f+00:00").replace(
            tzinfo=dt.UTC),
        "_can_write": bool(r["_can_write"])} for r in rows]
    decoded = decode_rows(table, [dict(r) for r in rows], "sqlite", ("_can_write",))
    assert decoded == expected
    assert all(type(r["closed"]) in (bool, type(None)) and type(r["_can_write"]) is bool
               for r in decoded)
    # one row at a time (records.get and friends) is the same decoding
    singles = [decode_row(table, dict(r), "sqlite") for r in rows]
    assert [{**r, "_can_write": bool(r["_can_write"])} for r in singles] == expected


@settings(max_examples=500, deadline=None)
@given(st.one_of(
    moments.filter(lambda m: m.year > 1000).map(lambda m: encode(m, "sqlite")),
    moments.filter(lambda m: m.year > 1000).map(lambda m: m.isoformat()),  # other writers
    moments.filter(lambda m: m.year > 1000).map(
        lambda m: m.replace(tzinfo=None, microsecond=0).isoformat(" "))))
def test_iso_text_is_isoformat_of_the_decoded_time(stored: str) -> None:
    parsed = dt.datetime.fromisoformat(stored)
    aware = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    assert iso_text(stored) == aware.isoformat()
    row = decode_rows(_Case(), [{"modified": stored, "closed": 1}], "sqlite",  # type: ignore[arg-type]
                      iso_times=True)[0]
    assert row == {"modified": aware.isoformat(), "closed": True}


kernel_times = moments.filter(lambda m: m.year > 1000).map(lambda m: encode(m, "sqlite"))
stored_times = st.one_of(
    st.none(), kernel_times,
    moments.filter(lambda m: m.year > 1000).map(lambda m: m.isoformat()),  # other writers
    moments.filter(lambda m: m.year > 1000).map(
        lambda m: encode(m.replace(microsecond=0), "sqlite")))


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.lists(kernel_times, max_size=20), st.lists(stored_times, max_size=6)))
def test_a_page_of_times_is_iso_text_of_each(column: list[str | None]) -> None:
    # a page whose times are all the kernel's own text is changed in one pass over the
    # column; any other value (another writer's, zero microseconds, NULL) row by row
    rows = [{"modified": v, "closed": None} for v in column]
    decoded = decode_rows(_Case(), rows, "sqlite", iso_times=True)  # type: ignore[arg-type]
    assert [r["modified"] for r in decoded] == [None if v is None else iso_text(v)
                                                for v in column]


def test_only_a_page_of_the_kernels_own_times_goes_in_one_pass() -> None:
    from portalis.core.codec import _iso_column

    own = "2024-01-04 10:37:29.000871+00:00"
    assert _iso_column([{"t": own}, {"t": own.replace("29", "30")}], "t")
    for odd in ("2024-01-04 10:37:29.000000+00:00", "2024-01-04T10:37:29.000871+00:00",
                "2024-01-04 10:37:29.000871+01:00", "2024-01-04 10:37 29.00871+00:00", None):
        rows = [{"t": own}, {"t": odd}]
        assert not _iso_column(rows, "t") and rows == [{"t": own}, {"t": odd}]
