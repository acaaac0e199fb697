"""Headers, sessions, passwords: what a browser is told, when a session ends, which passwords are
refused. Each test fails if its property breaks; docs/reliability.md lists them."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from conftest import DEFINITIONS
from runner import services
from runner.cli import main
from runner.errors import InvalidInput
from runner.services import accounts
from runner.store import User, transaction
from web_helpers import DEMO_PASSWORD, REPO, Visitor, dispose, make_app

BIN = Path(sys.executable).parent
PUBLIC_FORM = "/lapor/laporisp4n/pengaduan"
PRIVATE = "no-store"


@pytest.fixture
def app(db_url, seeded):
    app = make_app(db_url)
    yield app
    dispose(app)


def _security_headers(r, *, private: bool = True) -> None:
    h = r.headers
    csp = h.get("Content-Security-Policy", "")
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
                      "form-action 'self'", "base-uri 'none'", "object-src 'none'"):
        assert directive in csp, (directive, csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp
    assert h.get("X-Content-Type-Options") == "nosniff"
    assert h.get("X-Frame-Options") == "DENY"
    assert h.get("Referrer-Policy") == "same-origin"
    assert "Server" not in h, h.get("Server")
    assert "Strict-Transport-Security" not in h  # cookies are not HTTPS-only in these tests
    if private:
        assert h.get("Cache-Control") == PRIVATE, (r.request.path, h.get("Cache-Control"))
    else:
        assert PRIVATE not in h.get("Cache-Control", ""), h.get("Cache-Control")


# -- headers ----------------------------------------------------------------------------------------
def test_every_kind_of_page_carries_the_security_headers(app):
    staff = Visitor(app)
    staff.login("admin_utama")
    citizen = Visitor(app)
    pages = {
        "staff inbox": staff.get("/kotak-masuk"),
        "staff case list": staff.get("/kasus"),
        "login page": citizen.get("/masuk"),
        "report form": citizen.get(PUBLIC_FORM),
        "tracking page": citizen.get("/lacak?kode=TIDAKADA"),
        "home": citizen.get("/"),
        "404": citizen.get("/tidak-ada-di-sini"),
        "redirect to login": citizen.get("/kotak-masuk"),
        "CSRF refusal": citizen.post("/masuk", {"username": "x", "password": "y"}),
    }
    assert {k: r.status_code for k, r in pages.items()} == {
        "staff inbox": 200, "staff case list": 200, "login page": 200, "report form": 200, "tracking page": 404,
        "home": 200, "404": 404, "redirect to login": 302, "CSRF refusal": 400}
    for name, r in pages.items():
        try:
            _security_headers(r)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from exc


def test_static_files_keep_their_caching_but_get_the_other_headers(app):
    for path in ("/static/style.css", "/static/app.js"):
        r = Visitor(app).get(path)
        assert r.status_code == 200, path
        _security_headers(r, private=False)
        r.close()


def test_hsts_only_when_cookies_are_https_only(db_url, seeded):
    app = make_app(db_url, SESSION_COOKIE_SECURE=True)
    try:
        for path in ("/masuk", "/static/style.css"):
            r = app.test_client().get(path, base_url="https://localhost")
            assert r.headers.get("Strict-Transport-Security") == "max-age=31536000", path
            r.close()
    finally:
        dispose(app)


_INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> element"),
    (re.compile(r"""\s(on[a-z]+)\s*=\s*["']""", re.I), "on* event attribute"),
    (re.compile(r"""\sstyle\s*=\s*["']""", re.I), "style attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def _inline_code(html: str) -> list[str]:
    return [f"{what}: {m.group(0)!r}" for rx, what in _INLINE for m in rx.finditer(html)]


def test_no_template_holds_code_the_policy_would_block():
    """The CSP forbids inline script and style; a template that adds some would break in browsers."""
    found = {str(p.relative_to(REPO)): _inline_code(p.read_text(encoding="utf-8"))
             for p in (REPO / "web" / "templates").rglob("*.html")}
    assert not {k: v for k, v in found.items() if v}


def test_rendered_pages_hold_no_inline_code(app):
    staff = Visitor(app)
    staff.login("admin_utama")
    for r in (staff.get("/kotak-masuk"), staff.get("/kasus"), Visitor(app).get("/masuk"),
              Visitor(app).get(PUBLIC_FORM), Visitor(app).get("/lacak")):
        html = r.get_data(as_text=True)
        assert not _inline_code(html), _inline_code(html)
        assert '<script src="/static/app.js">' in html


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gunicorn_with_the_shipped_config_does_not_name_itself(tmp_path):
    """The README's and `make serve`'s command: gunicorn -c python:web.gunicorn_conf. Gunicorn writes
    its own Server header; the config neutralises it (see web/gunicorn_conf.py)."""
    db = f"sqlite:///{tmp_path / 'g.db'}"
    env = {**os.environ, "SOP_DATABASE_URL": db, "SOP_DEFINITIONS": str(DEFINITIONS), "SECRET_KEY": "k",
           "SOP_INSTANCE_PATH": str(tmp_path)}
    subprocess.run([str(BIN / "sop"), "db", "upgrade"], env=env, check=True, capture_output=True)
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(BIN / "gunicorn"), "-c", "python:web.gunicorn_conf", "--workers", "1",
                                 "--bind", f"127.0.0.1:{port}", "web:create_app()"], env=env, cwd=tmp_path,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/masuk", timeout=5) as resp:
                    headers = resp.headers
                    break
            except OSError:
                assert time.monotonic() < deadline, f"gunicorn did not answer:\n{log.read_text()}"
                time.sleep(0.2)
        servers = headers.get_all("Server") or []
        assert servers == ["sop"], servers
        assert headers.get("Content-Security-Policy", "").startswith("default-src 'self'")
        assert headers.get("Cache-Control") == PRIVATE
    finally:
        proc.terminate()
        proc.wait(timeout=15)


# -- sessions ---------------------------------------------------------------------------------------
def _cookie(v: Visitor) -> str:
    cookie = v.client.get_cookie("session")
    assert cookie is not None, "no session cookie"
    return cookie.value


def _replay(app, value: str):
    """A fresh browser holding a copy of someone's session cookie."""
    thief = Visitor(app)
    thief.client.set_cookie("session", value)
    return thief


def test_a_cookie_copied_before_sign_out_no_longer_works(app):
    kadis = Visitor(app)
    kadis.login("kadis")
    copied = _cookie(kadis)
    assert _replay(app, copied).get("/kotak-masuk").status_code == 200  # the copy works while signed in
    other_device = Visitor(app)
    other_device.login("kadis")

    kadis.logout()
    r = _replay(app, copied).get("/kotak-masuk")
    assert r.status_code == 302 and r.headers["Location"].startswith("/masuk"), (r.status_code, r.headers)
    # signing out ends every session of the account, on every device
    assert other_device.get("/kotak-masuk").status_code == 302
    # signing in again works, and gives a session the old cookie does not share
    kadis.login("kadis")
    assert kadis.get("/kotak-masuk").status_code == 200
    assert _replay(app, copied).get("/kotak-masuk").status_code == 302


def test_a_session_token_must_name_the_current_epoch(factory, seeded):
    with transaction(factory) as s:
        user = s.scalar(select(User).where(User.username == "kasi"))
        token = services.session_token(user)
        assert token == f"{user.id}:0"
        assert services.user_for_session(s, token) is user
        for bad in (str(user.id), f"{user.id}:", f"{user.id}:1", f"{user.id}:-1", "x:0", "", ":", f"{user.id}:0:0"):
            assert services.user_for_session(s, bad) is None, bad
        services.end_sessions(s, user.id)
        assert services.user_for_session(s, token) is None
        assert services.user_for_session(s, f"{user.id}:1") is user


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_sop_user_disable_ends_the_session_and_refuses_sign_in(app, db_url, capsys):
    where = ["--database", db_url, "--definitions", str(DEFINITIONS)]
    kadis = Visitor(app)
    kadis.login("kadis")
    assert kadis.get("/kotak-masuk").status_code == 200

    code, out, err = cli(capsys, "user", "disable", "kadis", *where)
    assert (code, out) == (0, "user kadis disabled; its sessions are ended\n"), err
    r = kadis.get("/kotak-masuk")
    assert r.status_code == 302 and r.headers["Location"].startswith("/masuk")
    r = Visitor(app).submit("/masuk", {"username": "kadis", "password": DEMO_PASSWORD}, control="username")
    assert r.status_code == 401

    code, out, _ = cli(capsys, "user", "enable", "kadis", *where)
    assert (code, out) == (0, "user kadis enabled\n")
    Visitor(app).login("kadis")  # asserts the redirect of a successful sign-in
    assert kadis.get("/kotak-masuk").status_code == 302  # the disabled session stays ended

    code, _, err = cli(capsys, "user", "disable", "nobody", *where)
    assert code == 1 and err == "error: no user 'nobody'\n"


# -- passwords --------------------------------------------------------------------------------------
BAD_PASSWORDS = [
    ("12345678", "at least 10 characters"),
    (" " * 8, "empty or only spaces"),
    (" " * 12, "empty or only spaces"),
    ("\t \n" * 4, "empty or only spaces"),
    ("", "empty or only spaces"),
    ("demo12345", "at least 10 characters"),  # the old demo password
    ("password123", "most common passwords"),
    ("Password123", "most common passwords"),  # the list is matched without regard to case
    ("1234567890", "most common passwords"),
    ("qwertyuiop", "most common passwords"),
    ("sayangkamu", "most common passwords"),  # Indonesian entries are on the list too
    ("siti.aminah", "the username"),
    ("SITI.AMINAH", "the username"),
    ("siti.aminah2026", "the username"),
    ("aminah-rahasia-99", "the username"),  # a part of the username
    ("aaaaaaaaaaaa", "4 different characters"),
    ("ababababab", "4 different characters"),
]


@pytest.mark.parametrize("password, message", BAD_PASSWORDS)
def test_weak_passwords_are_refused(password, message):
    with pytest.raises(InvalidInput, match=message):
        accounts.check_password(password, "siti.aminah")


@pytest.mark.parametrize("password", [DEMO_PASSWORD, "kuda-lari-pagi", "Tiga Ekor Kucing", "x7#Lq9!vRz"])
def test_reasonable_passwords_are_accepted(password):
    accounts.check_password(password, "siti.aminah")


def test_the_common_password_list_ships_in_the_package():
    common = accounts.common_passwords()
    assert len(common) >= 10_000
    assert {"password123", "1234567890", "bismillah", "indonesia"} <= common
    assert all(p == p.lower() and p == p.strip() and not p.startswith("#") for p in common)
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert '"data/*.txt"' in pyproject  # package data: the wheel carries the list (tests/test_package.py)


def test_create_user_refuses_a_weak_password_and_writes_nothing(factory, seeded):
    with transaction(factory) as s:
        before = s.scalar(select(func.count()).select_from(User))
    for password, message in BAD_PASSWORDS:
        with pytest.raises(InvalidInput, match=message):
            with transaction(factory) as s:
                services.create_user(s, "Siti.Aminah", password, roles=["kadis"])
    with transaction(factory) as s:
        assert s.scalar(select(func.count()).select_from(User)) == before


def test_sop_user_add_enforces_the_password_rules(capsys, db_url, seeded, monkeypatch):
    where = ["--database", db_url, "--definitions", str(DEFINITIONS)]
    monkeypatch.setenv("SOP_NEW_PASSWORD", "password123")
    code, _, err = cli(capsys, "user", "add", "budi", "--role", "kadis", *where)
    assert code == 1 and "most common passwords" in err, err
    monkeypatch.setenv("SOP_NEW_PASSWORD", "budi-pegawai-baru")
    code, _, err = cli(capsys, "user", "add", "budi", "--role", "kadis", *where)
    assert code == 1 and "the username" in err, err


def test_sop_user_add_needs_a_unit_exactly_for_unit_scoped_roles(capsys, db_url, seeded, monkeypatch):
    where = ["--database", db_url, "--definitions", str(DEFINITIONS)]
    monkeypatch.setenv("SOP_NEW_PASSWORD", "kuda-lari-pagi")

    def no_prompt(*_a, **_k):
        raise AssertionError("asked for a password before checking the roles")

    monkeypatch.setattr("getpass.getpass", no_prompt)
    monkeypatch.delenv("SOP_NEW_PASSWORD")
    code, out, err = cli(capsys, "user", "add", "rina", "--role", "operator_opd", *where)
    assert (code, out) == (1, "")
    assert err == ("error: role(s) operator_opd belong to one unit: give the unit with --unit UNIT "
                   "(units: `sop unit add ID NAME`)\n"), err
    code, out, err = cli(capsys, "user", "add", "rina", "--role", "kadis", "--unit", "dinkes", *where)
    assert (code, out) == (1, "")
    assert err == "error: role(s) kadis are not scoped to a unit: leave out --unit dinkes\n", err

    monkeypatch.setenv("SOP_NEW_PASSWORD", "kuda-lari-pagi")
    code, out, err = cli(capsys, "user", "add", "rina", "--role", "operator_opd", "--unit", "dinkes", *where)
    assert code == 0, err
    code, out, err = cli(capsys, "user", "add", "rudi", "--role", "kasi", *where)
    assert code == 0, err
