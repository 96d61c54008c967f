"""UTC time windows as RDS and ElastiCache take them: daily `hh:mm-hh:mm` and weekly `ddd:hh:mm-ddd:hh:mm`."""

from __future__ import annotations

import re
from collections.abc import Callable

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60
WEEK_MINUTES = 7 * DAY_MINUTES
_TIME = r"([01]\d|2[0-3]):([0-5]\d)"
_DAY = r"(mon|tue|wed|thu|fri|sat|sun)"
DAILY_PATTERN = re.compile(rf"^{_TIME}-{_TIME}$")
WEEKLY_PATTERN = re.compile(rf"^{_DAY}:{_TIME}-{_DAY}:{_TIME}$")


def daily_minutes(window: str) -> tuple[int, int]:
    """A valid daily window as (start, end) minutes of the day; end is past midnight (> 1440) when it wraps."""
    match = DAILY_PATTERN.match(window)
    if match is None:
        raise ValueError(f"not a daily window: {window!r}")
    start = int(match[1]) * 60 + int(match[2])
    end = int(match[3]) * 60 + int(match[4])
    return start, end if end > start else end + DAY_MINUTES


def weekly_minutes(window: str) -> tuple[int, int]:
    """A valid weekly window as (start, end) minutes of the week (Monday 00:00 = 0); end may pass Sunday night."""
    match = WEEKLY_PATTERN.match(window)
    if match is None:
        raise ValueError(f"not a weekly window: {window!r}")
    start = DAYS.index(match[1]) * DAY_MINUTES + int(match[2]) * 60 + int(match[3])
    end = DAYS.index(match[4]) * DAY_MINUTES + int(match[5]) * 60 + int(match[6])
    return start, end if end > start else end + WEEK_MINUTES


def weekly_window_shifted(window: str, days: int) -> str:
    """A valid weekly window `days` days later (earlier when negative; wrapping around the week), same times."""
    match = WEEKLY_PATTERN.match(window)
    if match is None:
        raise ValueError(f"not a weekly window: {window!r}")
    start_day, end_day = (DAYS[(DAYS.index(match[i]) + days) % 7] for i in (1, 4))
    return f"{start_day}:{match[2]}:{match[3]}-{end_day}:{match[5]}:{match[6]}"


def daily_window_check(*, minimum_minutes: int, example: str) -> Callable[[str], str | None]:
    """A setting check: a daily UTC window lasting at least `minimum_minutes`."""
    def check(value: str) -> str | None:
        if not DAILY_PATTERN.match(value):
            return f"must be a UTC window hh:mm-hh:mm, e.g. {example}"
        start, end = daily_minutes(value)
        return None if end - start >= minimum_minutes else f"must last at least {minimum_minutes} minutes"
    return check


def weekly_window_check(*, minimum_minutes: int, example: str,
                        maximum_minutes: int | None = None) -> Callable[[str], str | None]:
    """A setting check: a weekly UTC window lasting `minimum_minutes` to `maximum_minutes`."""
    def check(value: str) -> str | None:
        if not WEEKLY_PATTERN.match(value):
            return f"must be a UTC window ddd:hh:mm-ddd:hh:mm with days mon-sun, e.g. {example}"
        start, end = weekly_minutes(value)
        if end - start < minimum_minutes:
            return f"must last at least {minimum_minutes} minutes"
        if maximum_minutes is not None and end - start > maximum_minutes:
            return f"must last at most {maximum_minutes // 60} hours"
        return None
    return check


def windows_overlap(daily_window: str, weekly_window: str) -> bool:
    """Whether a daily window meets a weekly window on any day (RDS rejects a backup window that does)."""
    daily_start, daily_end = daily_minutes(daily_window)
    weekly_start, weekly_end = weekly_minutes(weekly_window)
    for day in range(-1, 8):  # every day's window, including the ones that wrap around the week
        start, end = day * DAY_MINUTES + daily_start, day * DAY_MINUTES + daily_end
        for shift in (-WEEK_MINUTES, 0, WEEK_MINUTES):
            if start < weekly_end + shift and weekly_start + shift < end:
                return True
    return False
