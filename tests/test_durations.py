"""Time limits as the SOP writes them ("7,5 jam") and as ISO 8601."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runner.durations import Duration, DurationError, parse

# Every WAKTU value of the seed document's table, with what it must mean.
SEED_WAKTU = [
    ("7,5 jam", Duration(minutes=450), "PT7H30M"),
    ("1 jam", Duration(minutes=60), "PT1H"),
    ("5 jam", Duration(minutes=300), "PT5H"),
    ("30 menit", Duration(minutes=30), "PT30M"),
    ("4 hari", Duration(days=4), "P4D"),
    ("4 Jam", Duration(minutes=240), "PT4H"),
    ("3,5 jam", Duration(minutes=210), "PT3H30M"),
    ("10 menit", Duration(minutes=10), "PT10M"),
    ("3 Hari", Duration(days=3), "P3D"),
]


@pytest.mark.parametrize("text, duration, iso", SEED_WAKTU)
def test_seed_time_limits(text, duration, iso):
    assert parse(text) == duration
    assert parse(text).iso() == iso


@pytest.mark.parametrize("text, duration", [
    ("PT7H30M", Duration(minutes=450)),
    ("PT30M", Duration(minutes=30)),
    ("P4D", Duration(days=4)),
    ("P1DT2H", Duration(days=1, minutes=120)),
    ("PT90M", Duration(minutes=90)),
    ("P1W", Duration(days=5)),  # a week is five working days
    ("pt1h", Duration(minutes=60)),
    (" PT1H ", Duration(minutes=60)),
])
def test_iso_8601_input(text, duration):
    assert parse(text) == duration


@pytest.mark.parametrize("text, duration", [
    ("7.5 jam", Duration(minutes=450)),  # a decimal point works as well as a comma
    ("1,25 jam", Duration(minutes=75)),
    ("  30   menit ", Duration(minutes=30)),
    ("2 hari kerja", Duration(days=2)),
    ("1 minggu", Duration(days=5)),
    ("45 mnt", Duration(minutes=45)),
    ("2 hours", Duration(minutes=120)),
])
def test_other_spellings(text, duration):
    assert parse(text) == duration


def test_days_are_not_folded_into_hours():
    # "4 hari" are four working days, whatever the office hours: never 96 hours.
    assert parse("4 hari") != parse("96 jam")
    assert parse("4 hari").minutes == 0


@pytest.mark.parametrize("text, fragment", [
    ("", "time limit is empty"),
    ("   ", "time limit is empty"),
    ("lima jam", "cannot read time limit 'lima jam'; write it like '7,5 jam'"),
    ("jam", "cannot read time limit 'jam'"),
    ("5", "cannot read time limit '5'"),
    ("-1 jam", "cannot read time limit '-1 jam'"),
    ("P", "cannot read time limit 'P'"),
    ("PT", "cannot read time limit 'PT'"),
    ("P1.5D", "cannot read time limit 'P1.5D'"),
    ("5 tahun", "unknown time unit 'tahun' in '5 tahun' (known: "),
    ("4,5 hari", "part days are not supported; write the limit in hours ('jam') instead"),
    ("0,3 menit", "time limit '0,3 menit' is not a whole number of minutes"),
])
def test_bad_inputs_say_what_to_write(text, fragment):
    with pytest.raises(DurationError) as info:
        parse(text)
    assert fragment in str(info.value)


def test_duration_error_is_a_value_error():
    with pytest.raises(ValueError):
        parse("lima jam")


def test_zero_duration_prints_as_zero_minutes():
    assert Duration().iso() == "PT0M"
    assert not Duration()
    assert Duration(minutes=1)


@given(st.builds(Duration, days=st.integers(0, 10_000), minutes=st.integers(0, 1_000_000)))
def test_iso_round_trip(d):
    assert parse(d.iso()) == d


@given(st.integers(1, 10_000))
def test_whole_hours_written_in_indonesian_read_back(n):
    assert parse(f"{n} jam") == Duration(minutes=60 * n)
    assert parse(f"{n},5 jam") == Duration(minutes=60 * n + 30)
