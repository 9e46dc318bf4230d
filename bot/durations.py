"""Durations people type: ``90m``, ``2h``, ``1d``, ``1h30m``, ``45s``; ``off`` (or nothing) for none."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.errors import UserInputError

_PART = re.compile(r"([0-9]{1,5})\s*([dhms])", re.IGNORECASE)
_WHOLE = re.compile(r"(?:\s*[0-9]{1,5}\s*[dhms]\s*)+", re.IGNORECASE)
_UNIT = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
OFF_WORDS = frozenset({"", "off", "none", "no", "0"})
MAX_DURATION = timedelta(days=30)


def parse_duration(text: str, *, what: str = "a duration") -> timedelta | None:
    """``text`` as a duration, or None when it says off. :class:`UserInputError` when it is neither."""
    cleaned = text.strip().lower()
    if cleaned in OFF_WORDS:
        return None
    if not _WHOLE.fullmatch(cleaned):
        raise UserInputError(
            f"`{text.strip()[:20]}` is not {what}. Write it like `2h`, `90m`, `1d` or `1h30m`."
        )
    seconds = sum(int(n) * _UNIT[unit.lower()] for n, unit in _PART.findall(cleaned))
    if seconds == 0:
        return None
    duration = timedelta(seconds=seconds)
    if duration > MAX_DURATION:
        raise UserInputError(f"{what.capitalize()} can be at most 30 days; you asked for {words(duration)}.")
    return duration


def words(duration: timedelta) -> str:
    """``2h``, ``1d 4h``, ``90m`` → how people say it: "2 hours", "1 day 4 hours", "1 hour 30 minutes"."""
    seconds = int(duration.total_seconds())
    parts = []
    for name, size in (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {name}{'s' if count != 1 else ''}")
    return " ".join(parts[:2]) or "0 seconds"
