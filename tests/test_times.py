"""Times shown with the Indonesian name of their zone (web/times.py and the `when` filter)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from web.times import ZONE_NAMES, format_time, site_zone, zone_name

MOMENT = dt.datetime(2026, 12, 2, 2, 30, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("tz, id_text, en_text", [
    ("Asia/Jakarta", "2 Des 2026 09.30 WIB", "2 Dec 2026 09:30 WIB"),
    ("Asia/Pontianak", "2 Des 2026 09.30 WIB", "2 Dec 2026 09:30 WIB"),
    ("Asia/Makassar", "2 Des 2026 10.30 WITA", "2 Dec 2026 10:30 WITA"),
    ("Asia/Jayapura", "2 Des 2026 11.30 WIT", "2 Dec 2026 11:30 WIT"),
])
def test_indonesian_zones_are_named_in_both_languages(tz, id_text, en_text):
    assert format_time(MOMENT, tz, "id") == id_text
    assert format_time(MOMENT, tz, "en") == en_text


def test_other_zones_show_their_abbreviation_or_offset_never_a_bare_offset():
    assert format_time(MOMENT, "UTC", "en") == "2 Dec 2026 02:30 UTC"
    assert format_time(MOMENT, "Europe/Berlin", "en").endswith(" CET")
    assert format_time(MOMENT.replace(month=7), "Europe/Berlin", "en").endswith(" CEST")
    assert zone_name(MOMENT, "Asia/Kolkata") == "IST"
    assert zone_name(MOMENT, "Asia/Dili") == "UTC+09"  # the tz database has no letters for it
    assert zone_name(MOMENT, "Asia/Kathmandu") == "UTC+05:45"
    assert zone_name(MOMENT, "America/Sao_Paulo") == "UTC-03"
    for tz in ("Asia/Dili", "Asia/Kathmandu", "America/Sao_Paulo", "Asia/Jakarta"):
        assert not re.search(r"(?<!UTC)[+-]\d{4}$", format_time(MOMENT, tz, "en")), tz


def test_the_table_covers_every_indonesian_zone_of_the_tz_database():
    from zoneinfo import available_timezones

    indonesian = {"Asia/Jakarta", "Asia/Pontianak", "Asia/Makassar", "Asia/Jayapura"}
    assert indonesian <= set(ZONE_NAMES) and indonesian <= available_timezones()
    assert set(ZONE_NAMES.values()) == {"WIB", "WITA", "WIT"}


def test_edge_values():
    assert format_time(None, "Asia/Jakarta", "id") == ""
    naive = MOMENT.replace(tzinfo=None)  # the store's moments are UTC
    assert format_time(naive, "Asia/Jakarta", "id") == "2 Des 2026 09.30 WIB"
    assert format_time(MOMENT, "Not/A_Zone", "en") == "2 Dec 2026 02:30 UTC"  # a safety net, not an error
    assert format_time(MOMENT, "Asia/Jakarta", "en_GB") == "2 Dec 2026 09:30 WIB"
    # the zone's name follows the moment's own offset, across midnight too
    assert format_time(dt.datetime(2026, 12, 31, 20, 0, tzinfo=dt.timezone.utc), "Asia/Jayapura", "id") \
        == "1 Jan 2027 05.00 WIT"


def test_the_site_zone_is_the_one_most_calendars_use():
    assert site_zone([]) == "UTC"
    assert site_zone(["Asia/Makassar", "Asia/Jakarta", "Asia/Makassar"]) == "Asia/Makassar"
    assert site_zone(["Asia/Pontianak", "Asia/Jakarta"]) == "Asia/Jakarta"  # a tie: name order


def test_pages_show_zone_names_not_offsets(app, citizen, staff):
    """The filter as the templates use it: the tracking page and the admin pages (no SOP of their own)."""
    from test_web import file_report

    code = file_report(citizen)
    html = citizen.get(f"/lacak?kode={code}").get_data(as_text=True)
    assert re.search(r"\d{1,2} \w{3} \d{4} \d\d\.\d\d WIB", html)  # Indonesian by default
    assert not re.search(r"[+-]0[0-9]00\b", html)
    with citizen.client.session_transaction() as s:
        s["lang"] = "en"
    html = citizen.get(f"/lacak?kode={code}").get_data(as_text=True)
    assert re.search(r"\d{1,2} \w{3} \d{4} \d\d:\d\d WIB", html) and "+0700" not in html

    admin = staff("admin_sop")
    html = admin.get("/admin/").get_data(as_text=True)
    assert re.search(r"\d\d\.\d\d WIB", html) and "+0700" not in html and " UTC<" not in html
