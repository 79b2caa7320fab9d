import datetime as dt

import pytest

from humangap.config import HumangapConfig
from humangap.window import (
    Window,
    WindowError,
    label_window,
    output_folder,
    partition_prefix,
    resolve_window,
    window_from_interval,
)

UTC = dt.timezone.utc


def test_daily_interval_is_its_start_date():
    window = window_from_interval(dt.datetime(2026, 11, 4, tzinfo=UTC), dt.datetime(2026, 11, 5, tzinfo=UTC))
    assert window == Window(dt.date(2026, 11, 4), dt.date(2026, 11, 4))


def test_interval_starting_late_reads_its_utc_start_date():
    start = dt.datetime(2026, 11, 4, 23, 30, tzinfo=UTC)
    window = window_from_interval(start, start + dt.timedelta(minutes=30))
    assert window.dates() == [dt.date(2026, 11, 4)]


def test_interval_in_other_timezone_uses_utc_dates():
    tz = dt.timezone(dt.timedelta(hours=-5))
    start = dt.datetime(2026, 11, 4, 20, 0, tzinfo=tz)  # 2026-11-05T01:00Z
    window = window_from_interval(start, start + dt.timedelta(hours=1))
    assert window.first == dt.date(2026, 11, 5)


def test_params_override_interval():
    window = resolve_window("2026-11-01", "2026-11-05", dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2026, 1, 2, tzinfo=UTC))
    assert window.dates()[0] == dt.date(2026, 11, 1)
    assert len(window.dates()) == 5


def test_single_param_means_one_day():
    assert resolve_window(None, "2026-11-03", None, None) == Window(dt.date(2026, 11, 3), dt.date(2026, 11, 3))


def test_no_interval_and_no_params_rejected():
    with pytest.raises(WindowError, match="no data interval and no first_date"):
        resolve_window(None, None, None, None)


@pytest.mark.parametrize("value", ["2026-13-01", "yesterday", "2026/11/01"])
def test_invalid_date_rejected(value):
    with pytest.raises(WindowError, match="expected a date as YYYY-MM-DD"):
        resolve_window(value, None, None, None)


def test_reversed_window_rejected():
    with pytest.raises(WindowError, match="before first date"):
        resolve_window("2026-11-05", "2026-11-01", None, None)


def test_label_window_ends_with_prediction_window():
    window = Window(dt.date(2026, 11, 4), dt.date(2026, 11, 5))
    labels = label_window(window, 3)
    assert labels == Window(dt.date(2026, 11, 1), dt.date(2026, 11, 5))


def test_output_and_partition_keys():
    config = HumangapConfig(bucket="b", prefix="team/data", output_prefix="team/reports")
    day = dt.date(2026, 11, 4)
    assert partition_prefix(config, "gold", day) == "team/data/gold/dt=2026-11-04/"
    assert output_folder(config, Window(day, day)) == "team/reports/dt=2026-11-04/"
    assert output_folder(config, Window(day, dt.date(2026, 11, 5))) == "team/reports/window=2026-11-04_2026-11-05/"


def test_late_daily_interval_reads_one_date():
    start = dt.datetime(2026, 11, 4, 23, 30, tzinfo=UTC)
    assert window_from_interval(start, start + dt.timedelta(days=1)).dates() == [dt.date(2026, 11, 4)]


def test_back_to_back_intervals_read_each_date_once():
    start = dt.datetime(2026, 11, 1, 23, 30, tzinfo=UTC)
    dates = []
    for day in range(5):
        first = start + dt.timedelta(days=day)
        dates += window_from_interval(first, first + dt.timedelta(days=1)).dates()
    assert dates == [dt.date(2026, 11, 1) + dt.timedelta(days=n) for n in range(5)]


def test_weekly_interval_reads_seven_dates():
    start = dt.datetime(2026, 11, 2, tzinfo=UTC)
    window = window_from_interval(start, start + dt.timedelta(days=7))
    assert window == Window(dt.date(2026, 11, 2), dt.date(2026, 11, 8))
