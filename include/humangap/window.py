"""Which daily partitions a run reads, and where its outputs go.

Partitions are folders ``dt=YYYY-MM-DD/`` named by UTC date. A run reads the
predictions of its window and the labels of a lookback window that ends with it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from humangap.config import HumangapConfig, join_key


class WindowError(ValueError):
    """Raised when a prediction window is invalid."""


@dataclasses.dataclass(frozen=True)
class Window:
    """An inclusive range of partition dates."""

    first: dt.date
    last: dt.date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise WindowError(
                f"invalid window: last date {self.last} is before first date {self.first}"
            )

    def dates(self) -> list[dt.date]:
        """Return every date of the window, oldest first."""
        days = (self.last - self.first).days
        return [self.first + dt.timedelta(days=offset) for offset in range(days + 1)]

    def folder_name(self) -> str:
        """Return the output folder name: ``dt=FIRST`` for one day, else both dates."""
        if self.first == self.last:
            return f"dt={self.first.isoformat()}"
        return f"window={self.first.isoformat()}_{self.last.isoformat()}"

    def to_dict(self) -> dict[str, str]:
        return {"first_date": self.first.isoformat(), "last_date": self.last.isoformat()}


def parse_date(value: str, name: str) -> dt.date:
    """Parse ``YYYY-MM-DD``, naming the parameter in the error."""
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as error:
        raise WindowError(
            f"invalid {name} {value!r}: expected a date as YYYY-MM-DD"
        ) from error


def window_from_interval(start: dt.datetime, end: dt.datetime) -> Window:
    """Return the partition dates of a data interval ``[start, end)``, taken in UTC.

    The window runs from the UTC date of ``start`` to the UTC date one day before
    ``end``. Back-to-back intervals of a day or more so read each date exactly once,
    whatever time of day they start. A daily interval from 2026-11-04T23:30Z to
    2026-11-05T23:30Z reads 2026-11-04 only, and the next run reads 2026-11-05.
    An interval shorter than a day reads the date it starts on.
    """
    first = start.astimezone(dt.timezone.utc).date()
    last = (end.astimezone(dt.timezone.utc) - dt.timedelta(days=1)).date()
    return Window(first, max(first, last))


def resolve_window(
    first_date: str | None,
    last_date: str | None,
    interval_start: dt.datetime | None,
    interval_end: dt.datetime | None,
) -> Window:
    """Return the prediction window of a run.

    Explicit dates (a manual run's params) win over the data interval. One date
    alone means a one-day window. With neither, the run has nothing to read.
    """
    if first_date or last_date:
        first = parse_date(first_date or last_date, "first_date")
        last = parse_date(last_date or first_date, "last_date")
        return Window(first, last)
    if interval_start is None or interval_end is None:
        raise WindowError(
            "the run has no data interval and no first_date/last_date params: "
            "trigger it with params, for example {\"first_date\": \"2026-11-01\", "
            "\"last_date\": \"2026-11-05\"}"
        )
    return window_from_interval(interval_start, interval_end)


def label_window(window: Window, lookback_days: int) -> Window:
    """Return the window of gold labels and annotations for a prediction window."""
    return Window(window.first - dt.timedelta(days=lookback_days), window.last)


def partition_prefix(config: HumangapConfig, source: str, day: dt.date) -> str:
    """Return the key prefix of one daily partition, ending in '/'."""
    return join_key(config.prefix, source, f"dt={day.isoformat()}") + "/"


def output_folder(config: HumangapConfig, window: Window) -> str:
    """Return the key prefix of a run's outputs, ending in '/'."""
    return join_key(config.output_prefix, window.folder_name()) + "/"
