"""Timestamps as the wire carries them: ``2016-11-01T15:25:02.837728Z`` (UTC, 6-digit fraction).

The SDK parses every key ending in ``Time`` with exactly this format and silently turns
anything else into ``None`` (reference §4.2), so there is one formatter for the whole project.
"""

from __future__ import annotations

from datetime import UTC, datetime

WIRE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_ts(moment: datetime | None) -> str:
    """Render ``moment`` in UTC in the wire format; ``""`` for ``None`` (not reached yet).

    Naive datetimes are taken to be UTC already.
    """
    if moment is None:
        return ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime(WIRE_FORMAT)


def parse_ts(text: str) -> datetime | None:
    """Parse a wire timestamp into an aware UTC datetime; ``""`` gives ``None``.

    Raises ``ValueError`` for any other shape.
    """
    if text == "":
        return None
    return datetime.strptime(text, WIRE_FORMAT).replace(tzinfo=UTC)
