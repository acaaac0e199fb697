"""The leaders' dashboard: figures against a small dataset computed by hand, who sees it, what a
unit-scoped leader sees, the CSV against the page's table, and charts that are valid SVG."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest

from runner import services
from runner.definition import display
from runner.errors import InvalidInput, NotAllowed, NotFound
from runner.services import dashboard as figures
from runner.store import transaction

from conftest import REPORT

ZONE = ZoneInfo("Asia/Pontianak")
T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=ZONE)  # a Monday, an ordinary working day
NOW = T0 + dt.timedelta(hours=3)  # Monday 11:00


def minutes(n: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


@pytest.fixture
def dataset(factory, registry, actor):
    """Three reports, timed so every figure can be worked out by hand:

    A: received at T0, still at step 1 (due Tuesday 08:00: on time at NOW);
    B: step 1 after 10 min, step 2 after 10 more, step 3 after 80 (its limit is 1 hour: late), step 4
       (advisory) after 10, sent to Dinas Kesehatan: open at step 5 since 09:50, due 10:20: overdue at NOW;
    C: step 1 after 30 min, found not valid 10 min later (closed).
    """
    admin, kadis = actor("admin_utama"), actor("kadis")
    ids = {}
    with transaction(factory) as s:
        for name in "ABC":
            ids[name] = services.start_case(s, registry, "laporisp4n", "pengaduan", REPORT, actor=admin, now=T0).id

    def step(case: str, who, action: str, at: int, **raw) -> None:
        with transaction(factory) as s:
            services.perform_step(s, registry, ids[case], who, action, raw, expected_version=None, now=minutes(at))

    step("B", admin, "simpan", 10, kanal="web")
    step("B", admin, "valid", 20)
    step("B", admin, "sampaikan", 100)
    step("B", kadis, "teruskan", 110, opd_tujuan="dinkes")
    step("C", admin, "simpan", 30, kanal="sms")
    step("C", admin, "tidak_valid", 40, alasan_tidak_valid="Tidak lengkap.")
    return ids


def board(factory, registry, who, **kw):
    with factory() as s:
        return figures.dashboard(s, registry, "laporisp4n", who, now=NOW, **kw)


def rows(table) -> dict[str, tuple]:
    return {display(label, "en"): values for label, values in table.rows}


def test_the_figures_equal_the_hand_computed_ones(dataset, factory, registry, actor):
    b = board(factory, registry, actor("kadis"))
    assert b.total == 3
    status = rows(b.panel("status").table)
    assert status["Open: 1. Input public reports from the various LAPORISP4N channels"] == (1, 0)
    assert status["Open: 5. receiving the report's disposition from the lead administrator and forwarding it "
                  "to the OPD liaison officer"] == (1, 0)
    assert status["Finished: Closed, the report is not valid"] == (0, 1)
    assert sum(sum(v) for v in status.values()) == 3

    units = rows(b.panel("units").table)
    assert units == {"Dinas Kesehatan": (1, 0), "No unit yet": (1, 1)}

    steps = {k.split(".")[0]: v for k, v in rows(b.panel("deadlines_steps").table).items()}
    assert steps["1"] == (2, 0, 1, 0)  # B and C within 7,5 hours; A open, due tomorrow
    assert steps["2"] == (2, 0, 0, 0)
    assert steps["3"] == (0, 1, 0, 0)  # 80 minutes against one hour
    assert "4" not in steps and "6" not in steps  # advisory limits are never late
    assert steps["5"] == (0, 0, 0, 1)  # due at 10:20, now 11:00
    by_unit = rows(b.panel("deadlines_units").table)
    assert by_unit == {"Dinas Kesehatan": (2, 1, 0, 1), "No unit yet": (2, 0, 1, 0)}

    timing = {k.split(".")[0]: v for k, v in rows(b.panel("timing").table).items()}
    assert timing["1"][:4] == (2, 20.0, 28.0, 450)  # 10 and 30 minutes; the limit is 7,5 working hours
    assert timing["2"][:4] == (2, 10.0, 10.0, 450)
    assert timing["3"][:4] == (1, 80.0, 80.0, 60)
    assert timing["4"][:4] == (1, 10.0, 10.0, 300)
    assert timing["5"][:3] == (0, None, None)

    trend = rows(b.panel("trend").table)
    assert len(trend) == 12 and list(trend)[-1] == "2026-11"
    assert trend["2026-11"] == (3, 1)
    assert trend["2026-10"] == (0, 0)


def test_a_date_range_limits_the_cases_and_a_bad_date_is_refused(dataset, factory, registry, actor):
    kadis = actor("kadis")
    assert board(factory, registry, kadis, first="2026-11-02", last="2026-11-02").total == 3
    assert board(factory, registry, kadis, first="2026-11-03").total == 0
    assert board(factory, registry, kadis, last="2026-11-01").total == 0
    for first, last in (("2026-13-01", None), ("kemarin", None), ("2026-11-05", "2026-11-01")):
        with pytest.raises(InvalidInput):
            board(factory, registry, kadis, first=first, last=last)


def test_a_unit_scoped_leader_sees_only_their_unit(dataset, factory, registry, actor):
    mine = board(factory, registry, actor("kadis_opd.dinkes"))
    assert mine.total == 1
    assert rows(mine.panel("units").table) == {"Dinas Kesehatan": (1, 0)}
    assert rows(mine.panel("deadlines_units").table) == {"Dinas Kesehatan": (2, 1, 0, 1)}
    other = board(factory, registry, actor("kadis_opd.disdik"))
    assert other.total == 0 and rows(other.panel("units").table) == {}


def test_roles_the_definition_does_not_name_are_refused(dataset, factory, registry, actor):
    for username in ("admin_utama", "operator_opd.dinkes", "pejabat_penghubung.dinkes"):
        with pytest.raises(NotAllowed):
            board(factory, registry, actor(username))
    with factory() as s:
        with pytest.raises(NotFound):
            figures.dashboard(s, registry, "no_such_sop", actor("kadis"))
        with pytest.raises(NotAllowed):
            figures.dashboard(s, registry, "ppid", actor("kadis"))


# -- the pages ------------------------------------------------------------------------------------
class _Tables(HTMLParser):
    """The cells of each ``<table data-testid=…>`` of a page, as text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self._table = self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(a.get("data-testid", ""), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = self._row = None


def english(visitor):
    with visitor.client.session_transaction() as s:
        s["lang"] = "en"
    return visitor


def test_the_page_shows_each_chart_as_valid_svg_with_its_table_and_csv(dataset, staff):
    kadis = english(staff("kadis"))
    inbox = kadis.get("/kotak-masuk").get_data(as_text=True)
    assert 'data-testid="dashboard-link-laporisp4n"' in inbox
    r = kadis.get("/dasbor/laporisp4n")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "<script" not in html.split("</main>")[0].split("<main")[-1]
    svgs = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
    assert len(svgs) == 6
    for svg in svgs:
        root = ET.fromstring(svg)
        assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("role") == "img"
        assert root.find("{http://www.w3.org/2000/svg}title") is not None
        assert "style" not in svg  # the CSP allows no inline style
    parser = _Tables()
    parser.feed(html)
    for key in ("status", "units", "deadlines_steps", "deadlines_units", "timing", "trend"):
        shown = parser.tables[f"table-{key}"]
        download = kadis.get(f"/dasbor/laporisp4n/{key}.csv")
        assert download.status_code == 200 and download.mimetype == "text/csv"
        assert "attachment" in download.headers["Content-Disposition"]
        lines = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
        assert [[c or "–" for c in row] for row in lines] == shown, key


def test_the_page_refuses_others_and_explains_a_bad_date(dataset, staff, citizen):
    assert english(staff("admin_utama")).get("/dasbor/laporisp4n").status_code == 403
    assert 'dashboard-link' not in staff("admin_utama").get("/kotak-masuk").get_data(as_text=True)
    assert staff("operator_opd.dinkes").get("/dasbor/laporisp4n/status.csv").status_code == 403
    kadis = english(staff("kadis"))
    assert kadis.get("/dasbor/nothing").status_code == 404
    assert kadis.get("/dasbor/laporisp4n/nothing.csv").status_code == 404
    r = kadis.get("/dasbor/laporisp4n?dari=2026-02-31")
    assert r.status_code == 400 and "YYYY-MM-DD" in r.get_data(as_text=True)
    assert kadis.get("/dasbor/laporisp4n/status.csv?dari=junk").status_code == 400
    ranged = kadis.get("/dasbor/laporisp4n?dari=2026-11-01&sampai=2026-11-30").get_data(as_text=True)
    assert 'data-total="3"' in ranged
    assert citizen.get("/dasbor/laporisp4n").status_code in (302, 401)


def test_a_unit_scoped_leader_page_counts_their_unit_only(dataset, staff):
    page = staff("kadis_opd.dinkes").get("/dasbor/laporisp4n").get_data(as_text=True)
    assert 'data-total="1"' in page


# -- the definition -------------------------------------------------------------------------------
def _problems(text: str) -> list[str]:
    from runner.definition import check_text

    sop, problems = check_text(text, "x.yaml")
    assert sop is None
    return [p.format() for p in problems]


def test_the_dashboard_roles_must_be_internal_roles_of_the_sop():
    from conftest import LAPOR

    text = LAPOR.read_text(encoding="utf-8")
    wrong = _problems(text.replace("roles: [kadis, kabid, kasi, kadis_opd]", "roles: [kadis, kadiss, pelapor, kadis]"))
    assert any("unknown role 'kadiss'" in p and "kadis" in p for p in wrong)
    assert any("'pelapor' is external" in p for p in wrong)
    assert any("'kadis' is listed twice" in p for p in wrong)
    assert any("dashboard" in p for p in _problems(text.replace("roles: [kadis, kabid, kasi, kadis_opd]", "roles: []")))


def test_a_chart_escapes_its_labels_and_draws_nothing_for_no_rows():
    from runner.charts import Series, bar_chart

    hostile = 'Unit "<script>alert(1)</script>" & co'
    svg = bar_chart('c"1', hostile, [hostile], [Series(hostile, (3,))], marker=Series("limit", (None,)))
    root = ET.fromstring(svg)
    assert "<script" not in svg and root.get("id") == 'c"1'
    assert hostile in "".join(root.itertext())
    empty = ET.fromstring(bar_chart("c2", "Nothing", [], [Series("a", ())], stacked=True))
    assert empty.tag.endswith("svg")


def test_working_times_equal_the_monthly_recaps_with_pauses_and_returns(dataset, factory, registry, actor):
    """The dashboard finds each stay without the recap's window function; both must give the same
    counts, medians and 90th percentiles, also when a step was paused or a case went round a loop."""
    from runner.services import pauses, recap

    admin, kadis = actor("admin_utama"), actor("kadis")
    with transaction(factory) as s:
        extra = services.start_case(s, registry, "laporisp4n", "pengaduan", REPORT, actor=admin, now=minutes(5)).id
    steps = [(admin, "simpan", 15, {"kanal": "web"}), ("pause", 25), ("resume", 85), (admin, "valid", 95, {}),
             (admin, "sampaikan", 125, {}), (kadis, "teruskan", 135, {"opd_tujuan": "dinkes"}),
             (actor("operator_opd.dinkes"), "bukan_wewenang", 140, {"alasan_bukan_wewenang": "Bukan kami."}),
             (kadis, "teruskan", 150, {"opd_tujuan": "dinkes"})]
    for item in steps:
        with transaction(factory) as s:
            if item[0] == "pause":
                pauses.pause_case(s, registry, extra, admin, "menunggu_pelapor", expected_version=None,
                                  now=minutes(item[1]))
            elif item[0] == "resume":
                pauses.resume_case(s, registry, extra, admin, expected_version=None, now=minutes(item[1]))
            else:
                who, action, at, raw = item
                services.perform_step(s, registry, extra, who, action, raw, expected_version=None, now=minutes(at))
    b = board(factory, registry, kadis, first="2026-11-01", last="2026-11-30")
    with factory() as s:
        sop = services.current_sops(s, registry)["laporisp4n"]
        month = recap.month_report(s, sop, sop.flow("rekap_bulanan"), "2026-11", now=NOW)
    ours = {display(k, "en"): v[:3] for k, v in b.panel("timing").table.rows}
    theirs = {display(k, "en"): v[:3] for k, v in month.table("timing").rows}
    assert ours == theirs
    # B and C 10 minutes each; the new case 10 before its pause and 10 after it (the hour on hold left out)
    assert ours["2. Verification of public reports by the Lead Administrator"] == (3, 10.0, 18.0)
    assert ours["4. Leadership's disposition to forward the report to the OPD operator or not"][0] == 3
