"""No input yields a 500: Hypothesis sends hostile input to every route and every form of the app.

* Every rule of ``app.url_map`` is requested with each of its methods, its path arguments and its
  query string made of hostile values, by a logged-out visitor and by a signed-in staff member (POSTs
  carry a valid CSRF token, so they reach the view rather than stopping at the CSRF check).
* Every form the app renders is submitted with its real controls — read from the rendered page, so
  hidden ``version``, ``nonce`` and ``step`` inputs and the action buttons are the page's own — each
  control kept, given a plausible value, given a hostile value, dropped or sent twice, and the CSRF
  token always valid. The forms are those found by following the links of the public pages and of
  each staff member's pages, plus the step form of every LAPOR activity (a case is opened and walked
  there for its performer, and replaced once the fuzzing moved it on).

Hostile values: NUL and the other C0/C1 control characters, any Unicode text (no lone surrogates: no
HTTP client can send one), texts longer than every limit (field cap, form memory, request size),
numbers beyond 64 bits, exponents, Unicode digits, empty strings.

Every response must be below 500; an error response (4xx) must have written nothing (the count of
cases and of history rows is unchanged), and a GET never writes. Runs on SQLite and, through the
``db_url`` fixture's ``postgresql`` parameter, on PostgreSQL (NUL in a query parameter, integers past
the column's range and the like fail only there). Each test prints how many requests it sent.
"""

from __future__ import annotations

import os
import re
from collections import deque
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from conftest import REPORT
from runner import services
from runner.store import Case, HistoryEntry, transaction
from web_helpers import DEMO_PASSWORD, STEPS, Form, Visitor, _FormParser, advance

MAX_EXAMPLES = int(os.environ.get("SOP_FUZZ_EXAMPLES", "100"))  # more for a deeper hunt; CI keeps 100
FIELD_CAP = 20_000  # runner.forms.MAX_TEXT
STAFF = ("admin_utama", "kadis", "operator_opd.dinkes")  # agency-wide, the head, a unit's operator
PLAUSIBLE = {**REPORT, **{k: v for *_, fields in STEPS for k, v in fields.items()},
             "jawaban": "Akan ditambal minggu ini.", "kode": "ABCD-EFGH-JKLM", "next": "/kotak-masuk",
             "username": STAFF[0], "password": DEMO_PASSWORD}
BY_TYPE = {"email": "budi@contoh.go.id", "tel": "0812345678", "number": "5", "date": "2026-11-30",
           "checkbox": "on", "radio": "on"}
QUERY = ["next", "kode", "hal", "semua", "baru"]  # every query parameter a view reads

# -- hostile values -----------------------------------------------------------------------------------
controls = st.characters(categories=["Cc"])  # C0 (NUL, tab, CR, LF, ESC...), DEL, C1
SPECIAL = [
    "", " ", "\x00", "a\x00b", "\r\n", "\x1b[31m", "\u0085", "\ufeff", "\u202e", "\uffff", "💥" * 3,
    "0", "-1", "1", "2147483647", "2147483648", str(2**63 - 1), str(2**63), str(2**64), "-" + str(2**63 + 1),
    "9" * 40, "1e999999999", "-1e-999999999999999999999", "NaN", "Infinity", "0x10", "1_000", "٣", "１２",
    "../../etc/passwd", "%00", "%2e%2e/", "//evil.example", "/\\evil.example", "http://evil.example/",
    "//[", "/\r\nSet-Cookie: x=1", "/\x00", "/kasus\n", "<script>alert(1)</script>", "' OR 1=1 --",
    "{{ 7*7 }}", "%(x)s", "null", "true", "[]", "{}", "2026-02-30", "20261130", "2026-W48-1", "a@b.c\x00",
]


def _long(ch: str, n: int) -> str:
    return (ch * n)[:n]


hostile = st.one_of(
    st.sampled_from(SPECIAL),
    st.text(max_size=30),  # any Unicode Hypothesis likes (never a lone surrogate)
    st.text(alphabet=st.one_of(controls, st.characters(max_codepoint=0x7F)), max_size=30),
    # something a field would take, with a control character inside ("Jalan\x00rusak", "/\r\nX: y")
    st.builds(lambda a, c, b: a + c + b, st.sampled_from(["Jalan", "/", "/kasus", "2026-11-30", "5", "a@b.id"]),
              st.text(alphabet=controls, min_size=1, max_size=3), st.text(max_size=5)),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.builds(_long, st.sampled_from(["x", "é", "\x00", "ab\n", "9"]),
              st.sampled_from([65, FIELD_CAP + 1, 120_000])),
)
# The body of one form must stay under MAX_CONTENT_LENGTH now and then, and go over it sometimes.
huge = st.builds(_long, st.sampled_from(["x", "\x00"]), st.sampled_from([600_000, 1_100_000]))


# -- counting ------------------------------------------------------------------------------------------
@dataclass
class Counter:
    requests: int = 0  # hostile requests, each checked
    sent: int = 0  # every request the app answered: page loads and sign-ins too


def rows(factory) -> tuple[int, int]:
    with factory() as s:
        return (s.scalar(select(func.count()).select_from(Case)),
                s.scalar(select(func.count()).select_from(HistoryEntry)))


def send(visitor: Visitor, counter: Counter, factory, method: str, url: str, **kw):
    """One request; fails on a 5xx, on a write answered by an error, and on a GET that wrote."""
    before = rows(factory)
    counter.requests += 1
    r = visitor.client.open(url, method=method, **kw)
    after = rows(factory)
    where = f"{method} {url[:300]!r} {str(kw)[:600]}"
    assert r.status_code < 500, f"{r.status_code} for {where}\n{r.get_data(as_text=True)[:2000]}"
    if r.status_code >= 400 or method == "GET":
        assert after == before, f"{r.status_code} for {where} wrote (cases, history) {before} -> {after}"
    return r


# -- the app and its visitors ------------------------------------------------------------------------
@pytest.fixture
def counter(request, app):
    c = Counter()
    inner = app.wsgi_app

    def counting(environ, start_response):
        c.sent += 1
        return inner(environ, start_response)

    app.wsgi_app = counting
    yield c
    # pytest -s shows it; docs/reliability.md quotes it
    print(f"\n{request.node.name}: {c.requests} hostile requests checked, {c.sent} requests in all")


def visitor(app, who: str | None) -> Visitor:
    """A fresh visitor (every example gets its own cookie jar), signed in when ``who`` is given."""
    v = Visitor(app)
    if who:
        v.login(who)
    return v


# -- reading forms, options included -------------------------------------------------------------------
class _Parser(_FormParser):
    """web_helpers' form parser, also keeping every option of each select (per form)."""

    def __init__(self):
        super().__init__()
        self.options: list[dict[str, list[str]]] = []
        self.types: list[dict[str, str]] = []

    def handle_starttag(self, tag, attrs):
        super().handle_starttag(tag, attrs)
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.options.append({})
            self.types.append({})
        elif tag == "option" and self._select and self._form is not None:
            self.options[-1].setdefault(self._select, []).append(a.get("value", ""))
        elif tag in ("input", "textarea", "select") and a.get("name") and self._form is not None:
            self.types[-1].setdefault(a["name"], a.get("type", "text") if tag == "input" else tag)


@dataclass
class PageForm:
    form: Form
    options: dict[str, list[str]]  # select name -> every option value
    types: dict[str, str]  # control name -> input type, "textarea" or "select"

    @property
    def key(self) -> tuple[str, tuple[str, ...]]:
        """What makes it the same form when its page is loaded again: tokens and versions change, and
        so does the language form's action (/bahasa/en, once switched /bahasa/id)."""
        return (self.form.attrs.get("method", "get").lower(), tuple(sorted(set(self.form.names))))

    @property
    def spots(self) -> list[str]:
        """Where a hostile value can go: each control but the CSRF token and, for a POST, ``?next``
        (where the login sends you; a GET form's controls are its query)."""
        posted = self.key[0] == "post"
        return [n for n in dict.fromkeys(self.form.names) if n != "csrf_token"] + (["?next"] if posted else [])

    def plausible(self, name: str) -> str:
        """A value the control would accept from a careful person."""
        if self.types.get(name) == "hidden" and self.form.fields.get(name):
            return self.form.fields[name]  # version, nonce, step, next: the page's own
        if name in PLAUSIBLE:
            return PLAUSIBLE[name]
        if self.form.fields.get(name):
            return self.form.fields[name]  # prefilled values
        if any(self.options.get(name, [])):
            return next(o for o in self.options[name] if o)
        return BY_TYPE.get(self.types.get(name, "text"), "isi")


def read_forms(html: str) -> list[PageForm]:
    p = _Parser()
    p.feed(html)
    return [PageForm(*t) for t in zip(p.forms, p.options, p.types)]


Source = tuple  # (who, page, form key): page is a path, or a callable giving one (a case at a step)


def crawl(app, who: str | None, start: str, limit: int = 30) -> list[Source]:
    """Every distinct form on the pages reachable by links from ``start``, with the first page it is on.
    Case pages are left out: their step forms come from ``CaseAtStep``, which keeps one open."""
    v = visitor(app, who)
    seen, queue, found = {start}, deque([start]), {}
    while queue and len(seen) <= limit:
        url = queue.popleft()
        r = v.get(url)
        if r.status_code != 200:
            continue
        html = r.get_data(as_text=True)
        for f in read_forms(html):
            found.setdefault(f.key, (who, url, f.key))
        for href in re.findall(r'href="([^"#]+)"', html):
            href = href.replace("&amp;", "&")
            parts = urlsplit(href)
            if parts.netloc or not href.startswith("/") or href.startswith("/static/"):
                continue
            if re.match(r"^/kasus/\d+", parts.path) or href in seen:
                continue
            seen.add(href)
            queue.append(href)
    return list(found.values())


class CaseAtStep:
    """A case whose open step is LAPOR activity ``no``, for that step's performer: made on demand and
    made again once fuzzing has moved it on."""

    def __init__(self, factory, registry, actor_of):
        self.factory, self.registry, self.actor_of = factory, registry, actor_of
        self.cases: dict[int, int] = {}

    def url(self, no: int) -> str:
        case_id = self.cases.get(no)
        if case_id is None or not self._at(case_id, no):
            with transaction(self.factory) as s:
                sop, flow, actor = services.public_flow(s, self.registry, "laporisp4n", "pengaduan")
                case_id = services.start_case(s, self.registry, sop.id, flow.id, REPORT, actor=actor).id
            advance(self.factory, self.registry, self.actor_of, case_id, no)
            self.cases[no] = case_id
        return f"/kasus/{case_id}"

    def _at(self, case_id: int, no: int) -> bool:
        sop = self.registry.get("laporisp4n")
        with self.factory() as s:
            state = s.scalar(select(Case.state).where(Case.id == case_id))
        activity = sop.activity(state) if sop and state else None
        return activity is not None and activity.no == no


@pytest.fixture
def case_at(factory, registry, actor):
    return CaseAtStep(factory, registry, actor)


# -- 1. every address -----------------------------------------------------------------------------------
_ARG = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def _routes(app) -> list[tuple[str, str]]:
    """(rule, method) for every rule of the URL map and each method it answers (but HEAD/OPTIONS)."""
    return sorted((rule.rule, m) for rule in app.url_map.iter_rules()
                  for m in sorted(rule.methods - {"HEAD", "OPTIONS"}))


def test_every_address_with_hostile_arguments(app, factory, counter):
    routes = _routes(app)
    assert {r for r, _ in routes} >= {"/", "/lacak", "/masuk", "/kasus", "/kasus/<id:case_id>",
                                      "/lapor/<sop_id>/<flow_id>", "/bahasa/<lang>"}
    params = st.dictionaries(st.sampled_from(["hal", "semua", "kode", "baru", "next", "x"]) | hostile,
                             hostile | st.sampled_from(["1", "2", "0"]), max_size=4)

    @settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(route=st.sampled_from(routes), who=st.sampled_from([None, STAFF[0]]), data=st.data())
    def run(route, who, data):
        rule, method = route
        v = visitor(app, who)

        def arg(m: re.Match) -> str:
            value = data.draw(hostile | st.integers(min_value=0, max_value=2**70).map(str)
                              | st.sampled_from(["laporisp4n", "pengaduan", "id", "en", "1"]), label=m.group(2))
            return quote(value, safe="/" if m.group(1) == "path" else "")

        url = _ARG.sub(arg, rule)
        query = data.draw(params, label="query")
        if method == "GET":
            send(v, counter, factory, "GET", url, query_string=urlencode(query))
        else:
            token = re.search(r'name="csrf_token" value="([^"]+)"', v.get("/masuk").get_data(as_text=True))
            form = {**data.draw(params, label="form"), "csrf_token": token.group(1)}
            send(v, counter, factory, method, url + "?" + urlencode(query), data=form)

    run()
    assert counter.requests >= MAX_EXAMPLES


# -- 2. every form ----------------------------------------------------------------------------------------
def careful(page: PageForm, spot: str, value, button) -> tuple[dict, dict]:
    """(form data, query) as a careful person fills the form and presses ``button``, but ``value``
    at ``spot`` — so the value gets past the other fields' checks and reaches the database."""
    data = {n: page.plausible(n) for n in page.form.names}
    data["csrf_token"] = page.form.fields.get("csrf_token", "")
    if button:
        data[button[0]] = button[1]
    query: dict = {}
    (query if spot.startswith("?") else data)[spot.lstrip("?")] = value
    return data, query


def wild(page: PageForm, draw) -> tuple[dict, dict]:
    """(form data, query) with every control kept, plausible, a select's option, hostile, dropped or
    sent twice; now and then an unknown control or one too large for the request."""
    form = page.form
    data: dict = {"csrf_token": form.fields.get("csrf_token", "")}  # always valid: the view must be reached
    names = [n for n in page.spots if not n.startswith("?")]
    for name in names:
        choice = draw(st.sampled_from(["keep", "plausible", "option", "hostile", "hostile", "drop", "twice"]),
                      label=f"{name}?")
        if choice == "keep" and name in form.fields:
            data[name] = form.fields[name]
        elif choice == "plausible":
            data[name] = page.plausible(name)
        elif choice == "option" and page.options.get(name):
            data[name] = draw(st.sampled_from(page.options[name]), label=name)
        elif choice == "drop":
            pass
        elif choice == "twice":
            data[name] = [draw(hostile, label=name), draw(hostile, label=name)]
        else:
            data[name] = draw(hostile, label=name)
    buttons = [b for b in form.buttons.values() if b[0]]
    if buttons and draw(st.booleans(), label="press a button"):
        name, value = draw(st.sampled_from(buttons), label="button")
        data[name] = value
    if draw(st.integers(0, 9), label="extras") == 0:
        data[draw(hostile, label="extra name") or "x"] = draw(hostile, label="extra value")
    if draw(st.integers(0, 19), label="too large") == 0:
        data[draw(st.sampled_from(["csrf_token", *names]), label="large name")] = draw(huge, label="large value")
    query = draw(st.dictionaries(st.sampled_from(QUERY), hostile, max_size=2), label="query")
    return data, query


def _inside(bad: str):
    """A plausible value with ``bad`` inside it: "J\x00alan berlubang", "/\r\nX: ykotak-masuk"."""
    return lambda good: good[:1] + bad + good[1:]


# The sweep: each of these in turn at every spot of every form, the rest of the form filled carefully.
NASTY = [_inside("\x00"), _inside("\r\nX-Injected: 1\r\n"), _inside("\x1b[2J\x85\x7f"),
         lambda good: str(2**63), lambda good: (good or "x") * (FIELD_CAP // max(len(good), 1) + 1)]


def fuzz_forms(app, factory, counter, sources: list[Source]) -> None:
    """First a sweep: every ``NASTY`` value at every spot of every form, the rest filled carefully.
    Then Hypothesis: half its examples fill one form wildly, once; the other half put one hostile value,
    in turn, at each spot of a carefully filled form. Every submission is made from a freshly loaded
    page (token, version and nonce are the page's), one visitor per example."""

    def load(who, page, key, v: Visitor | None = None) -> tuple[Visitor, str, PageForm]:
        url = page() if callable(page) else page
        r = v.get(url) if v is not None else None
        if r is None or r.status_code != 200:  # new, or signed out by the last request
            v = visitor(app, who)
            r = v.get(url)
        assert r.status_code == 200, (who, url, r.status_code)
        same = [f for f in read_forms(r.get_data(as_text=True)) if f.key == key]
        assert same, f"the form {key} is gone from {url}"
        return v, url, same[0]

    def submit(v: Visitor, url: str, page: PageForm, fields: dict, query: dict) -> None:
        target = page.form.attrs.get("action") or url
        if page.form.attrs.get("method", "get").lower() == "get":
            send(v, counter, factory, "GET", urlsplit(target).path,
                 query_string=urlencode({**fields, **query}, doseq=True))
            return
        if query:
            parts = urlsplit(target)
            target = parts.path + "?" + "&".join(x for x in (parts.query, urlencode(query)) if x)
        send(v, counter, factory, "POST", target, data=fields)

    def every_spot(source: Source, value_for, button) -> None:
        v, url, page = load(*source)
        for spot in page.spots:
            v, url, page = load(*source, v)
            submit(v, url, page, *careful(page, spot, value_for(page.plausible(spot.lstrip("?"))), button))

    for source in sources:
        buttons = [b for b in load(*source)[2].form.buttons.values() if b[0]] or [None]
        for i, nasty in enumerate(NASTY):
            every_spot(source, nasty, buttons[i % len(buttons)])

    fuzz = settings(max_examples=MAX_EXAMPLES // 2, deadline=None, suppress_health_check=list(HealthCheck))

    @fuzz
    @given(source=st.sampled_from(sources), data=st.data())
    def wildly(source, data):
        v, url, page = load(*source)
        submit(v, url, page, *wild(page, data.draw))

    @fuzz
    @given(source=st.sampled_from(sources), value=hostile, data=st.data())
    def carefully(source, value, data):
        buttons = [b for b in load(*source)[2].form.buttons.values() if b[0]]
        button = data.draw(st.sampled_from(buttons), label="button") if buttons else None
        every_spot(source, lambda _good: value, button)

    wildly()
    carefully()
    assert counter.requests >= MAX_EXAMPLES


def test_every_public_form_with_hostile_values(app, factory, counter):
    sources = crawl(app, None, "/")
    pages = {page for _who, page, _key in sources}
    assert any(p.startswith("/lapor/") for p in pages) and "/masuk" in pages, sources
    assert any(key[0] == "get" for *_, key in sources), "no tracking form found"
    fuzz_forms(app, factory, counter, sources)


def test_every_staff_form_with_hostile_values(app, factory, counter, case_at):
    sources: list[Source] = []
    for who in STAFF:
        sources += crawl(app, who, "/kotak-masuk")
    assert any(page.startswith("/kasus/baru/") for _who, page, _key in sources), sources
    for no, who, _action, _fields in STEPS:  # every step form of LAPOR, for its performer
        url = case_at.url(no)
        step_form = next(f for f in read_forms(visitor(app, who).get(url).get_data(as_text=True))
                         if f.form.attrs.get("data-testid") == "step-form")
        sources.append((who, lambda no=no: case_at.url(no), step_form.key))
    fuzz_forms(app, factory, counter, sources)


# -- 3. what the fuzzer found, pinned -----------------------------------------------------------------------
def test_what_the_fuzzer_found_stays_fixed(app, factory, registry):
    """A NUL in the login username and in a report's title answered 500 on PostgreSQL; a ``next`` with
    CR/LF or "//[" answered 500 on both databases; a tracking code with a NUL inside found the report."""
    v = Visitor(app)
    before = rows(factory)
    # NUL in the login form reached a PostgreSQL query parameter (the password never did: it is
    # compared in Python, but it is refused the same way)
    for username, password in (("admin\x00utama", DEMO_PASSWORD), (STAFF[0], DEMO_PASSWORD + "\x00")):
        r = v.submit("/masuk", {"username": username, "password": password}, control="username")
        assert r.status_code == 401
    # NUL in the report's title (a text column; data went to JSON, which takes it): now a field error
    r = v.submit("/lapor/laporisp4n/pengaduan", {**REPORT, "judul": "Jalan\x00rusak"}, control="nonce")
    assert r.status_code == 400 and rows(factory) == before
    html = r.get_data(as_text=True)
    assert 'data-testid="error-judul"' in html and "Hapus karakter kontrol tak terlihat dari teks ini." in html
    # a code with NUL inside, or longer than anyone types, names no report (though a real code is in it)
    with transaction(factory) as s:
        sop, flow, actor = services.public_flow(s, registry, "laporisp4n", "pengaduan")
        real = services.start_case(s, registry, sop.id, flow.id, REPORT, actor=actor).tracking_code
    assert v.get("/lacak", query_string={"kode": real}).status_code == 200
    for kode in (real[:4] + "\x00" + real[4:], real + " " * 60 + ".", "A" * 200_000):
        r = v.get("/lacak", query_string={"kode": kode})
        assert r.status_code == 404 and "Tidak ada laporan dengan kode pelacakan ini" in r.get_data(as_text=True)
    # a next= with CR/LF made a Location header Werkzeug refuses; "//[" made urlsplit raise
    token = re.search(r'name="csrf_token" value="([^"]+)"', v.get("/masuk").get_data(as_text=True)).group(1)
    for target in ("/\r\nSet-Cookie: x=1", "//[", "/\\evil.example", "/\x00", "/kasus\t"):
        r = v.post("/bahasa/en", {"csrf_token": token, "next": target})
        assert r.status_code == 302 and r.headers["Location"] == "/kotak-masuk", target
        r = v.submit("/masuk?next=" + quote(target, safe=""), {"username": STAFF[0], "password": DEMO_PASSWORD},
                     control="username", action="/masuk?next=" + quote(target, safe=""))
        assert r.status_code == 302 and r.headers["Location"] == "/kotak-masuk", target
        v = Visitor(app)
        token = re.search(r'name="csrf_token" value="([^"]+)"', v.get("/masuk").get_data(as_text=True)).group(1)


def test_ids_and_page_numbers_outside_the_range_are_404(app, case_at):
    staff = visitor(app, STAFF[0])
    case_id = int(case_at.url(1).rsplit("/", 1)[1])
    assert staff.get(f"/kasus/{case_id}").status_code == 200
    # ids: what is no number, or names no row the id column can hold, is a 404 (like a case one may not see)
    for raw in ("0", "00", str(2**31), str(2**63), str(2**64), "9" * 400, "-1", "+1", "1.0", "1e3", "abc",
                "%00", "\u0661", "\uff11"):
        assert staff.get(f"/kasus/{raw}").status_code == 404, raw
        assert staff.post(f"/kasus/{raw}", data={}).status_code in (400, 404), raw  # 400: no CSRF token
    # page numbers: absent or plain digits 1..1,000,000, else 404; past the end: a page without rows
    for hal, status in (("", 200), ("1", 200), ("2", 200), ("1000000", 200), ("0", 404), ("-1", 404),
                        ("1000001", 404), (str(2**63), 404), ("9" * 400, 404), ("abc", 404), ("1.5", 404),
                        (" 2", 404), ("\u0662", 404), ("2\x00", 404)):
        assert staff.get("/kasus", query_string={"hal": hal}).status_code == status, hal
