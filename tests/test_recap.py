"""The monthly recap as a report: hand-computed figures, the page, CSV/XLSX, ``sop recap``.

The month below is built through the real services with controlled timestamps on the LAPOR
calendar (Mon–Thu 07:30–12:00 and 13:00–16:00, Fri 07:30–11:00 and 13:00–16:00, Asia/Pontianak);
November 2026 has no national holiday, so every figure is worked out by hand in the comments.
"""

from __future__ import annotations

import csv
import datetime as dt
import html as html_lib
import io
import re
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from conftest import DEFINITIONS, REPORT
from runner import services
from runner.definition import display
from runner.services import recap
from runner.store import Case, HistoryEntry, transaction
from test_browser import browser, log_in, page, site  # noqa: F401  (fixtures of the print test)
from web_helpers import Visitor

WIB = ZoneInfo("Asia/Pontianak")
NOV30_EVENING = dt.datetime(2026, 11, 30, 20, 0, tzinfo=WIB)


def at(day: int, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hh, mm, tzinfo=WIB)


def _start(factory, registry, actor, when):
    with transaction(factory) as s:
        return services.start_case(s, registry, "laporisp4n", "pengaduan", REPORT, actor=actor("admin_utama"),
                                   now=when).id


def _act(factory, registry, actor, case_id, user, action, data, when):
    with transaction(factory) as s:
        services.perform_step(s, registry, case_id, actor(user), action, data, expected_version=None, now=when)


def build_month(factory, registry, actor) -> dict[str, int]:
    """Four reports of November 2026 (and one either side of it), worked minutes in the comments."""
    a = _start(factory, registry, actor, at(2, 8))  # Monday 2 November 08:00
    _act(factory, registry, actor, a, "admin_utama", "simpan", {"kanal": "web"}, at(2, 9))  # 60
    _act(factory, registry, actor, a, "admin_utama", "valid", {}, at(2, 10, 30))  # 90
    _act(factory, registry, actor, a, "admin_utama", "sampaikan", {}, at(2, 11))  # 30
    _act(factory, registry, actor, a, "kadis", "teruskan", {"opd_tujuan": "dinkes"}, at(2, 14))  # 60 + 60
    # a now waits at step 5 (30 menit from Monday 14:00): overdue on 30 November

    b = _start(factory, registry, actor, at(2, 9))
    _act(factory, registry, actor, b, "admin_utama", "simpan", {"kanal": "sms"}, at(2, 11, 30))  # 150
    _act(factory, registry, actor, b, "admin_utama", "tidak_valid", {"alasan_tidak_valid": "Spam"},
         at(3, 9))  # Mon 30 + 180, Tue 90 = 300

    c = _start(factory, registry, actor, at(2, 10))  # due Tuesday 10:00; step 1 taken on Wednesday: late
    _act(factory, registry, actor, c, "admin_utama", "simpan", {"kanal": "web"}, at(4, 10))  # 300 + 450 + 150
    _act(factory, registry, actor, c, "admin_utama", "valid", {}, at(4, 10, 30))  # 30
    _act(factory, registry, actor, c, "admin_utama", "sampaikan", {}, at(4, 11))  # 30
    _act(factory, registry, actor, c, "kadis", "tidak_teruskan", {"alasan_tidak_diteruskan": "Bukan wewenang"},
         at(4, 13, 30))  # 60 + 30

    d = _start(factory, registry, actor, at(27, 14))  # Friday; due Monday 30th 14:00, still at step 1
    _start(factory, registry, actor, dt.datetime(2026, 10, 31, 23, 30, tzinfo=WIB))  # October locally
    _start(factory, registry, actor, dt.datetime(2026, 12, 1, 0, 30, tzinfo=WIB))  # December locally
    with transaction(factory) as s:  # the recap case of November: a scheduled case, not a report
        [monthly] = services.tick(s, registry, now=dt.datetime(2026, 12, 1, 9, 0, tzinfo=WIB))
        recap_id = monthly.id
    return {"a": a, "b": b, "c": c, "d": d, "recap": recap_id}


def report(factory, registry, period="2026-11", now=NOV30_EVENING) -> recap.MonthReport:
    with factory() as s:
        return recap.report_for_month(s, registry, period, "laporisp4n", now=now)



def names(registry):
    sop = registry.get("laporisp4n")
    step = {a.id: f"{a.no}. {display(a.name)}" for a in sop.activities}
    action = {(a.id, x.id): f"{step[a.id]} → {display(x.label)}" for a in sop.activities for x in a.actions}
    end = {e.id: f"Selesai: {display(e.name)}" for f in sop.flows for e in f.ends}
    open_at = {a.id: f"Masih terbuka di {step[a.id]}" for a in sop.activities}
    return step, action, end, open_at


def test_a_month_computed_by_hand(factory, registry, actor):
    build_month(factory, registry, actor)
    r = report(factory, registry)
    step, action, end, open_at = names(registry)
    totals = r.table("totals")
    assert [display(h) for h in totals.header] == ["Ukuran", "Semua"]
    expected = {
        "Diterima": 4,
        action["input_laporan", "simpan"]: 3,
        action["verifikasi_laporan", "valid"]: 2, action["verifikasi_laporan", "tidak_valid"]: 1,
        action["sampaikan_ke_pimpinan", "sampaikan"]: 2,
        action["disposisi_pimpinan", "teruskan"]: 1, action["disposisi_pimpinan", "tidak_teruskan"]: 1,
        action["teruskan_ke_pelapor", "teruskan"]: 0,  # answered: none yet
        end["selesai"]: 0, end["tidak_valid"]: 1, end["tidak_diteruskan"]: 1,
        open_at["input_laporan"]: 1, open_at["terima_disposisi"]: 1, open_at["verifikasi_laporan"]: 0,
        "Terlambat saat ini": 2,  # a (step 5, 30 menit) and d (step 1 due Monday 14:00)
    }
    for label, n in expected.items():
        assert totals.row(label) == (n,), label
    # every row of the definition is there, the rest zero
    assert sum(v[0] for _, v in totals.rows) == sum(expected.values())
    sop = registry.get("laporisp4n")
    steps = [x for x in sop.activities if x.flow == "pengaduan"]
    # received, each action of each step, each end, each open step, overdue
    assert len(totals.rows) == 1 + sum(len(x.actions) for x in steps) + 3 + len(steps) + 1

    units = r.table("units")
    assert [display(h) for h in units.header] == ["Ukuran", "Dinas Kesehatan", "Belum ada unit"]
    assert units.row("Diterima") == (1, 3)
    assert units.row(action["disposisi_pimpinan", "teruskan"]) == (1, 0)
    assert units.row(open_at["terima_disposisi"]) == (1, 0)
    assert units.row("Terlambat saat ini") == (1, 1)

    channels = r.table("by_kanal")
    assert [display(h) for h in channels.header] == [
        "Ukuran", "Situs web LAPOR!", "SMS 1708", "Aplikasi seluler LAPOR!", "Media sosial",
        "Datang langsung / surat", "Tidak diisi"]
    assert channels.row("Diterima") == (2, 1, 0, 0, 0, 1)
    assert channels.row(action["verifikasi_laporan", "tidak_valid"]) == (0, 1, 0, 0, 0, 0)
    assert channels.row(end["tidak_diteruskan"]) == (1, 0, 0, 0, 0, 0)
    assert channels.row(open_at["input_laporan"]) == (0, 0, 0, 0, 0, 1)

    timing = r.table("timing")
    assert [display(h, "en") for h in timing.header] == [
        "Step", "Steps taken", "Median working minutes", "90th percentile working minutes", "Time limit",
        "Finished within the limit (%)"]
    # step 1: 60, 150, 900 -> median 150; p90 at 0.9 * 2 = 1.8: 150 + 0.8 * 750 = 750; c was late
    assert timing.row(step["input_laporan"]) == (3, 150.0, 750.0, "7,5 jam", 66.7)
    # step 2: 30, 90, 300 -> 90; 90 + 0.8 * 210 = 258
    assert timing.row(step["verifikasi_laporan"]) == (3, 90.0, 258.0, "7,5 jam", 100.0)
    assert timing.row(step["sampaikan_ke_pimpinan"]) == (2, 30.0, 30.0, "1 jam", 100.0)
    # step 4 (advisory): 90, 120 -> 105 and 90 + 0.9 * 30 = 117
    limit4 = timing.row(step["disposisi_pimpinan"])
    assert limit4[:3] == (2, 105.0, 117.0) and display(limit4[3]) == "5 jam (anjuran)" and limit4[4] == 100.0
    assert timing.row(step["terima_disposisi"]) == (0, None, None, "30 menit", None)
    assert r.untimed_steps == 0

    # stored with each step: the working minutes since the entry before
    with factory() as s:
        worked = list(s.scalars(select(HistoryEntry.worked_minutes).join(Case, Case.id == HistoryEntry.case_id)
                                .where(Case.flow == "pengaduan").order_by(HistoryEntry.case_id, HistoryEntry.seq)))
    assert worked[:5] == [None, 60, 90, 30, 120]  # the opening entry has none


def test_history_without_working_time_is_left_out_and_said(factory, registry, actor, monkeypatch):
    from runner.services import cases

    measured = cases._worked_minutes

    def as_before_0007(session, sop, case, now):  # history is append-only: c's step 1 is written as an old row
        old = case.created_at == at(2, 10) and case.state == "input_laporan"
        return None if old else measured(session, sop, case, now)

    monkeypatch.setattr(cases, "_worked_minutes", as_before_0007)
    build_month(factory, registry, actor)
    r = report(factory, registry)
    step, *_ = names(registry)
    n, median, p90, _, share = r.table("timing").row(step["input_laporan"])
    assert (n, median, p90, share) == (3, 105.0, 141.0, 66.7)  # 60 and 150 remain; the count and share do not change
    assert r.untimed_steps == 1
    assert "1 langkah tercatat sebelum waktu kerja disimpan" in recap.to_csv(r)


def test_an_empty_month(factory, registry, seeded):
    r = report(factory, registry, "2026-09")
    assert r.table("totals").row("Diterima") == (0,)
    assert all(v == (0,) for _, v in r.table("totals").rows)
    assert [display(h) for h in r.table("units").header] == ["Ukuran"]  # no unit had a case
    assert all(row[1] == (0, None, None) for row in ((lbl, v[:3]) for lbl, v in r.table("timing").rows))
    book = load_workbook(io.BytesIO(recap.to_xlsx(r)))
    assert len(book.sheetnames) == len(r.tables)


def test_a_bad_month_is_refused_clearly(factory, registry, seeded):
    with pytest.raises(ValueError, match="YYYY-MM"):
        report(factory, registry, "2026-13")


# -- the page, the downloads and the CLI agree -----------------------------------------------------
def page_tables(html: str) -> dict[str, list[list[str]]]:
    out = {}
    for key, body in re.findall(r'data-testid="recap-(\w+)">(.*?)</table>', html, re.S):
        rows = []
        for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S):
            cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)
            rows.append([html_lib.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
        out[key] = rows
    return out


def as_text(v) -> str:
    return "–" if v is None else str(v)


def test_the_page_and_the_downloads_show_the_same_figures(app, factory, registry, actor):
    ids = build_month(factory, registry, actor)
    admin = Visitor(app)
    admin.login("admin_utama")
    html = admin.get(f"/kasus/{ids['recap']}").get_data(as_text=True)
    shown = page_tables(html)
    r = report(factory, registry, now=recap.utcnow())
    assert list(shown) == [t.key for t in r.tables]
    assert shown["totals"][1] == ["Diterima", "4"]
    for table in r.tables:
        expected = [[display(h) for h in table.header]] + [
            [display(label), *(display(v) if isinstance(v, recap.Text) else as_text(v) for v in values)]
            for label, values in table.rows]
        assert shown[table.key] == expected, table.key
    assert "<caption>Per Kanal laporan</caption>" in html

    r_csv = admin.get(f"/kasus/{ids['recap']}/rekap.csv")
    assert r_csv.status_code == 200 and r_csv.mimetype == "text/csv"
    assert 'filename="rekap-laporisp4n-2026-11.csv"' in r_csv.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r_csv.get_data(as_text=True))))
    assert ["Diterima", "4"] in rows and ["Diterima", "1", "3"] in rows and ["Diterima", "2", "1", "0", "0", "0", "1"] in rows

    r_xlsx = admin.get(f"/kasus/{ids['recap']}/rekap.xlsx")
    assert r_xlsx.status_code == 200
    book = load_workbook(io.BytesIO(r_xlsx.get_data()))
    assert len(book.sheetnames) == len(r.tables)
    for sheet, table in zip(book.worksheets, r.tables):
        values = [list(row) for row in sheet.iter_rows(values_only=True)]
        assert values[0] == [display(h) for h in table.header]
        assert values[1:] == [[display(label), *(display(v) if isinstance(v, recap.Text) else v for v in vals)]
                              for label, vals in table.rows]
    timing = book.worksheets[-1]
    assert isinstance(timing.cell(row=2, column=2).value, int)  # numbers as numbers
    assert timing.cell(row=2, column=3).value == 150  # the median of step 1
    assert timing.cell(row=1, column=1).font.bold


def test_only_who_may_view_the_recap_case_downloads_it(app, factory, registry, actor):
    ids = build_month(factory, registry, actor)
    outsider = Visitor(app)
    outsider.login("operator_opd.dinkes")
    assert outsider.get(f"/kasus/{ids['recap']}").status_code == 404
    assert outsider.get(f"/kasus/{ids['recap']}/rekap.csv").status_code == 404
    assert outsider.get(f"/kasus/{ids['recap']}/rekap.xlsx").status_code == 404
    anonymous = Visitor(app)
    assert anonymous.get(f"/kasus/{ids['recap']}/rekap.csv").status_code in (302, 401)
    admin = Visitor(app)
    admin.login("admin_utama")
    assert admin.get(f"/kasus/{ids['a']}/rekap.csv").status_code == 404  # a report has no recap
    assert admin.get(f"/kasus/{ids['recap']}/rekap.pdf").status_code == 404


def test_sop_recap_writes_what_the_page_shows(app, db_url, factory, registry, actor, tmp_path, capsys):
    """The done-when: ``sop recap 2026-11 -o recap.xlsx`` on a seeded database gives the page's figures."""
    from runner.cli import main as sop

    ids = build_month(factory, registry, actor)
    out = tmp_path / "recap.xlsx"
    assert sop(["recap", "2026-11", "-o", str(out), "--database", db_url, "--definitions", str(DEFINITIONS)]) == 0
    assert "4 case(s) received" in capsys.readouterr().out
    admin = Visitor(app)
    admin.login("admin_utama")
    shown = page_tables(admin.get(f"/kasus/{ids['recap']}").get_data(as_text=True))
    book = load_workbook(out)
    assert len(book.worksheets) == len(shown)
    for sheet, rows in zip(book.worksheets, shown.values()):
        cells = [[as_text(v) if not isinstance(v, str) else v for v in row] for row in sheet.iter_rows(values_only=True)]
        # the page prints 150.0 for a float; the sheet stores 150 (openpyxl gives back an int)
        assert [[c.removesuffix(".0") for c in r] for r in cells] == [[c.removesuffix(".0") for c in r] for r in rows]

    csv_out = tmp_path / "recap.csv"
    assert sop(["recap", "2026-11", "--sop", "laporisp4n", "-o", str(csv_out), "--lang", "en",
                "--database", db_url, "--definitions", str(DEFINITIONS)]) == 0
    rows = list(csv.reader(csv_out.open(encoding="utf-8")))
    assert ["Received", "4"] in rows and rows[0] == ["laporisp4n 2026-11"]

    assert sop(["recap", "2026-11", "-o", str(tmp_path / "recap.pdf"), "--database", db_url]) == 2
    assert sop(["recap", "november", "-o", str(out), "--database", db_url]) == 2
    assert "YYYY-MM" in capsys.readouterr().err
    assert sop(["recap", "2026-11", "--sop", "ppid", "-o", str(out), "--database", db_url,
                "--definitions", str(DEFINITIONS)]) == 1  # PPID has no monthly recap


# -- the definition key ------------------------------------------------------------------------------
LAPOR_TEXT = (DEFINITIONS / "laporisp4n.yaml").read_text(encoding="utf-8")
RECAP_LINE = "    recap: {by: [kanal], units: true}\n"


def test_the_recap_key_names_select_fields_and_is_checked_where_it_stands():
    from runner.definition import check_text

    assert RECAP_LINE in LAPOR_TEXT
    sop, problems = check_text(LAPOR_TEXT, "laporisp4n.yaml")
    assert sop is not None and sop.flow("rekap_bulanan").recap.by == ("kanal",)
    line = LAPOR_TEXT[:LAPOR_TEXT.index(RECAP_LINE)].count("\n") + 1
    for wrong, message in (("kanl", "'kanl' is not a select field of a case flow; did you mean 'kanal'?"),
                           ("kategori", "'kategori' is not a select field of a case flow")):
        sop, problems = check_text(LAPOR_TEXT.replace(RECAP_LINE, f"    recap: {{by: [{wrong}]}}\n"), "x.yaml")
        assert sop is None
        assert [(p.line, wrong in p.message) for p in problems] == [(line, True)], [p.format() for p in problems]
        assert message.split(";")[0] in problems[0].message
    # a flow started by a submission has no period report
    text = LAPOR_TEXT.replace("    title_field: judul\n", "    title_field: judul\n    recap: {units: false}\n")
    sop, problems = check_text(text, "x.yaml")
    assert sop is None and any("only a scheduled flow has a period report" in p.message for p in problems)
    # without the key: the totals and the per-unit table
    sop, _ = check_text(LAPOR_TEXT.replace(RECAP_LINE, ""), "x.yaml")
    assert sop is not None and (sop.flow("rekap_bulanan").recap.by, sop.flow("rekap_bulanan").recap.units) == ((), True)


# -- percentiles: the database's figure is percentile_cont's ----------------------------------------
def percentile_cont(values: list[int], p: float) -> float:
    ordered = sorted(values)
    pos = p * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo), 1)


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(min_value=0, max_value=20_000), min_size=1, max_size=25))
def test_median_and_p90_are_percentile_cont(factory, registry, actor, minutes):
    """On SQLite the percentiles come from LIMIT/OFFSET reads, on PostgreSQL from percentile_cont:
    both must equal the interpolated percentile of the stored worked_minutes."""
    when = at(16, 8)
    with transaction(factory) as s:
        case = services.start_case(s, registry, "laporisp4n", "pengaduan", REPORT, actor=actor("admin_utama"), now=when)
        s.flush()
        for i, m in enumerate(minutes):  # as a step taken and returned to, once per value
            s.add(HistoryEntry(case_id=case.id, seq=100 + i, at=when, actor_name="x", role="admin_utama",
                               activity="teruskan_ke_pelapor", action="kembalikan_ke_opd",
                               from_state="teruskan_ke_pelapor", to_state="kirim_jawaban_opd", data={},
                               worked_minutes=m))
        case_id = case.id
    try:
        step, *_ = names(registry)
        row = report(factory, registry).table("timing").row(step["teruskan_ke_pelapor"])
        assert row[:3] == (len(minutes), percentile_cont(minutes, 0.5), percentile_cont(minutes, 0.9))
    finally:
        with transaction(factory) as s:  # the next example's month holds only its own case (history is append-only)
            s.execute(Case.__table__.update().where(Case.id == case_id).values(created_at=at(1, 0) - dt.timedelta(days=400)))


# -- print layout -----------------------------------------------------------------------------------
@pytest.mark.browser
def test_printing_the_recap_keeps_only_the_report(site, page):
    """In print media (and so on paper or as PDF) only the report remains; the fixtures are the
    browser tests' (the app as ``sop demo`` sets it up, which opens last month's recap case)."""
    with site.factory() as s:
        recap_id = s.scalar(select(Case.id).where(Case.flow == "rekap_bulanan"))
    log_in(page, site, "admin_utama")
    page.goto(f"{site.url}/kasus/{recap_id}")
    report_box = page.locator("[data-testid=recap]")
    assert report_box.is_visible() and page.locator("header.top").is_visible()
    assert page.locator("[data-testid=recap-totals] caption").inner_text() == "Ringkasan"
    page.emulate_media(media="print")
    assert report_box.is_visible()
    assert page.locator("[data-testid=recap-timing]").is_visible()
    assert not page.locator("header.top").is_visible()  # the app's header and the case's other cards go
    assert not page.locator("[data-testid=case-title]").is_visible()
    assert not page.locator("[data-testid=recap-xlsx]").is_visible()  # links mean nothing on paper
    assert page.pdf(format="A4")[:4] == b"%PDF"


def test_a_step_put_on_hold_counts_its_working_time_without_the_pause(factory, registry, actor):
    """A stay at a step may hold pause and resume entries: its time is the working time before the
    pause and after the resumption, not the day it waited for the reporter."""
    from runner.services import pauses

    def oct_(day, hh, mm=0):
        return dt.datetime(2026, 10, day, hh, mm, tzinfo=WIB)

    p = _start(factory, registry, actor, oct_(5, 8))  # Monday 5 October
    _act(factory, registry, actor, p, "admin_utama", "simpan", {"kanal": "langsung"}, oct_(5, 8, 30))  # 30
    with transaction(factory) as s:
        pauses.pause_case(s, registry, p, actor("admin_utama"), "menunggu_pelapor", expected_version=None,
                          now=oct_(5, 9))  # 30 worked at step 2
    with transaction(factory) as s:
        pauses.resume_case(s, registry, p, actor("admin_utama"), expected_version=None, now=oct_(6, 9))
    _act(factory, registry, actor, p, "admin_utama", "valid", {}, oct_(6, 9, 45))  # 45 more
    q = _start(factory, registry, actor, oct_(7, 8))  # put on hold at step 2 and left there
    _act(factory, registry, actor, q, "admin_utama", "simpan", {"kanal": "langsung"}, oct_(7, 8, 10))
    with transaction(factory) as s:
        pauses.pause_case(s, registry, q, actor("admin_utama"), "menunggu_pelapor", expected_version=None,
                          now=oct_(7, 8, 20))
    step, action, *_ = names(registry)
    r = report(factory, registry, "2026-10", now=oct_(31, 9))
    assert r.table("totals").row("Terlambat saat ini") == (1,)  # p, waiting at step 3 since the 6th; q is on hold
    assert r.table("timing").row(step["input_laporan"])[:3] == (2, 20.0, 28.0)  # 30 and 10 minutes
    assert r.table("timing").row(step["verifikasi_laporan"])[:3] == (1, 75.0, 75.0)
    assert r.table("timing").row(step["verifikasi_laporan"])[4] == 100.0  # by the due time the pause moved
    assert r.table("totals").row(action["verifikasi_laporan", "valid"]) == (1,)
    assert r.table("by_kanal").row("Diterima")[4] == 2  # Datang langsung / surat
