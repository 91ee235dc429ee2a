"""Wire timestamps: ISO, UTC, six-digit fraction, Z; "" for unset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from api.timestamps import format_ts, parse_ts


def test_format_and_parse() -> None:
    moment = datetime(2016, 11, 1, 15, 25, 2, 837728, tzinfo=UTC)
    assert format_ts(moment) == "2016-11-01T15:25:02.837728Z"
    assert parse_ts("2016-11-01T15:25:02.837728Z") == moment
    assert format_ts(datetime(2016, 11, 1, 15, 25, 2)) == "2016-11-01T15:25:02.000000Z"


def test_other_zones_are_converted_to_utc() -> None:
    moment = datetime(2016, 11, 1, 23, 0, 0, tzinfo=timezone(timedelta(hours=8)))
    assert format_ts(moment) == "2016-11-01T15:00:00.000000Z"


def test_unset() -> None:
    assert format_ts(None) == ""
    assert parse_ts("") is None
    with pytest.raises(ValueError):
        parse_ts("2016-11-01 15:25:02")
