"""Helpers for the web tests: build the app on a prepared database, and a small "browser" over
Flask's test client that reads a page's forms (hidden inputs, prefilled values, CSRF token) and
submits them the way a browser would."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

from sqlalchemy import func, select

from runner.store import Case, HistoryEntry

REPO = Path(__file__).resolve().parents[1]
DEFINITIONS = REPO / "sop_definitions"
DEMO_PASSWORD = "demo-sop-2026"
ANSWER = "Jalan sudah ditambal oleh Dinas PUPR pada 3 Desember."

# The LAPOR walk both the test-client and the browser suites follow:
# (activity no, demo user, action, fields to fill in on top of what the page already holds)
STEPS = [
    (1, "admin_utama", "simpan", {"kanal": "web", "kategori": "Infrastruktur"}),
    (2, "admin_utama", "valid", {"catatan_verifikasi": "Laporan lengkap."}),
    (3, "admin_utama", "sampaikan", {"ringkasan_untuk_pimpinan": "Jalan rusak di depan pasar."}),
    (4, "kadis", "teruskan", {"opd_tujuan": "dinkes", "isi_disposisi": "Segera koordinasikan penanganannya."}),
    (5, "operator_opd.dinkes", "teruskan_ke_penghubung", {"catatan_operator": "Segera."}),
    (6, "pejabat_penghubung.dinkes", "ajukan", {"jawaban": "Akan ditambal minggu ini."}),
    (7, "kadis_opd.dinkes", "setujui", {"catatan_kadis_opd": "Disetujui."}),
    (8, "operator_opd.dinkes", "kirim", {}),  # the answer of step 6 is already filled in
    (9, "admin_utama", "teruskan", {"jawaban_akhir": ANSWER}),
]


def advance(factory, registry, actor_of, case_id: int, upto: int) -> None:
    """Perform steps 1..upto-1 through the services (set-up for tests of one later step);
    ``actor_of(username)`` gives the demo user's Actor."""
    from runner import services
    from runner.store import transaction

    for no, user, action, fields in STEPS[: upto - 1]:
        raw = {**fields, "jawaban": STEPS[5][3]["jawaban"]} if no == 8 else fields
        with transaction(factory) as s:
            services.perform_step(s, registry, case_id, actor_of(user), action, raw, expected_version=None)


def make_app(db_url: str, **extra):
    from web import create_app

    # Rate limits off: suites that log in and post many times from 127.0.0.1 are not abuse
    # (tests/test_abuse.py switches them on with RATELIMIT_ENABLED=True).
    config = {"TESTING": True, "SOP_DATABASE_URL": db_url, "SOP_DEFINITIONS": str(DEFINITIONS),
              "SECRET_KEY": "test", "RATELIMIT_ENABLED": False}
    config.update(extra)
    return create_app(config)


def dispose(app) -> None:
    app.extensions["sop"].engine.dispose()


# -- reading pages --------------------------------------------------------------------------------
@dataclass
class Form:
    attrs: dict[str, str]
    fields: dict[str, str] = field(default_factory=dict)  # successful controls, as a browser sends them
    names: list[str] = field(default_factory=list)  # every named control, in order
    buttons: dict[str, tuple[str, str]] = field(default_factory=dict)  # data-testid -> (name, value)


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._textarea: str | None = None
        self._text: list[str] = []
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen = False

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._form = Form(attrs=a)
            self.forms.append(self._form)
            return
        f = self._form
        if f is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            f.names.append(name)
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    f.fields[name] = a.get("value", "on")
            elif kind not in ("submit", "button", "file"):
                f.fields[name] = a.get("value", "")
        elif tag == "textarea" and name:
            f.names.append(name)
            self._textarea, self._text = name, []
        elif tag == "select" and name:
            f.names.append(name)
            self._select, self._select_first, self._select_chosen = name, None, False
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in a:
                f.fields[self._select] = value
                self._select_chosen = True
        elif tag == "button" and "data-testid" in a:
            f.buttons[a["data-testid"]] = (name or "", a.get("value", ""))

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            text = "".join(self._text)
            self._form.fields[self._textarea] = text[1:] if text.startswith("\n") else text
            self._textarea = None
        elif tag == "select" and self._select is not None and self._form is not None:
            if not self._select_chosen:
                self._form.fields[self._select] = self._select_first or ""
            self._select = None


def forms(html: str) -> list[Form]:
    p = _FormParser()
    p.feed(html)
    return p.forms


def form_with(html: str, *, testid: str | None = None, control: str | None = None) -> Form:
    """The first form with data-testid ``testid`` or holding a control named ``control``."""
    for f in forms(html):
        if testid is not None and f.attrs.get("data-testid") == testid:
            return f
        if control is not None and control in f.names:
            return f
    raise AssertionError(f"no form with testid={testid!r} control={control!r} on the page:\n{html[:3000]}")


def csrf_token(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no csrf_token hidden input on the page"
    return m.group(1)


def text_of(html: str, testid: str) -> str | None:
    """Text content of the first element carrying data-testid=testid (tags stripped)."""
    m = re.search(rf'<(\w+)[^>]*data-testid="{re.escape(testid)}"[^>]*>(.*?)</\1>', html, re.S)
    if not m:
        return None
    return unescape(re.sub(r"<[^>]+>", "", m.group(2))).strip()


def inbox_case_ids(html: str) -> set[int]:
    return {int(x) for x in re.findall(r'data-case="(\d+)"', html)}


# -- a "browser" over the test client -------------------------------------------------------------
class Visitor:
    """One person with a cookie jar. ``submit`` re-reads the page so CSRF token and hidden fields
    are those a browser would send."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()

    def get(self, url: str, **kw):
        return self.client.get(url, **kw)

    def post(self, url: str, data: dict, **kw):
        return self.client.post(url, data=data, **kw)

    def submit(self, url: str, overrides: dict | None = None, *, testid: str | None = None,
               control: str | None = None, button: str | None = None, drop: tuple[str, ...] = (),
               action: str | None = None, page=None, follow_redirects: bool = False):
        """GET ``url`` (unless ``page`` is given), fill the chosen form with ``overrides`` and
        press the button whose data-testid is ``button``; POST to the form's action."""
        if page is None:
            page = self.client.get(url)
            assert page.status_code == 200, (url, page.status_code)
        assert testid or control, "say which form: testid= or control="
        f = form_with(page.get_data(as_text=True), testid=testid, control=control)
        data = dict(f.fields)
        if button is not None:
            assert button in f.buttons, f"no button {button!r}; buttons: {sorted(f.buttons)}"
            name, value = f.buttons[button]
            if name:
                data[name] = value
        data.update(overrides or {})
        for key in drop:
            data.pop(key, None)
        target = action or f.attrs.get("action") or url
        return self.client.post(target, data=data, follow_redirects=follow_redirects)

    def login(self, username: str, password: str = DEMO_PASSWORD, next_url: str | None = None):
        url = "/masuk" + (f"?next={next_url}" if next_url else "")
        r = self.submit(url, {"username": username, "password": password}, control="username", action=url)
        assert r.status_code == 302, (username, r.status_code, r.get_data(as_text=True)[:500])
        return r

    def logout(self):
        page = self.client.get("/kotak-masuk")
        r = self.client.post("/keluar", data={"csrf_token": csrf_token(page.get_data(as_text=True))})
        assert r.status_code == 302
        return r

    def inbox_ids(self) -> set[int]:
        r = self.client.get("/kotak-masuk")
        assert r.status_code == 200, r.status_code
        return inbox_case_ids(r.get_data(as_text=True))

    def act(self, case_id: int, action: str, overrides: dict | None = None, **kw):
        """Perform a step from the case page, pressing the button ``action-<action>``."""
        return self.submit(f"/kasus/{case_id}", overrides, testid="step-form", button=f"action-{action}", **kw)


# -- reading the database -------------------------------------------------------------------------
def history_count(factory, case_id: int) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(HistoryEntry).where(HistoryEntry.case_id == case_id))


def case_row(factory, case_id: int) -> Case:
    with factory() as s:
        case = s.get(Case, case_id)
        s.expunge(case)
        return case


def case_id_for_code(factory, code: str) -> int:
    with factory() as s:
        case_id = s.scalar(select(Case.id).where(Case.tracking_code == code))
        assert case_id is not None, f"no case with tracking code {code}"
        return case_id


def case_count(factory) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(Case))
