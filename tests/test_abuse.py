"""Abuse limits: login throttling per account and per address, rate limits on the public report
form and the tracking page, CSRF tokens that expire, and the client address behind a proxy.

Every app here switches the limits on (``make_app`` leaves them off for the other suites). Addresses
are set per visitor through the test client's ``environ_base`` (``REMOTE_ADDR``). Time is moved
forward with a fake clock in Flask-Limiter's memory storage and in web/abuse.py, so no test sleeps.
"""

from __future__ import annotations

import logging
import re
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from runner.errors import ConfigurationError
from runner.settings import Settings
from web_helpers import DEMO_PASSWORD, Visitor, case_count, dispose, make_app

PUBLIC_FORM = "/lapor/laporisp4n/pengaduan"
REPORT = {"judul": "Lampu jalan mati", "isi_laporan": "Lampu di depan sekolah mati sejak seminggu.",
          "nama_pelapor": "Budi Warga", "kontak_pelapor": "081234567890"}
WRONG = "tebakan-rahasia-123"  # a typed password: must never reach the log


@pytest.fixture
def app(db_url, seeded):
    app = make_app(db_url, RATELIMIT_ENABLED=True)
    yield app
    dispose(app)


def visitor(app, address: str) -> Visitor:
    v = Visitor(app)
    v.client.environ_base["REMOTE_ADDR"] = address
    return v


def sign_in(app, address: str, username: str, password: str = WRONG, **headers):
    """One sign-in attempt as a browser makes it (the form, then the post) from ``address``."""
    v = visitor(app, address)
    if headers:
        v.client.environ_base.update(headers)
    return v.submit("/masuk", {"username": username, "password": password}, control="username")


def page(r) -> str:
    return r.get_data(as_text=True)


class _Clock:
    """``time`` with an adjustable offset, for the modules that decide when a window ends."""

    def __init__(self):
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def __getattr__(self, name):
        return getattr(time, name)


@pytest.fixture
def clock(monkeypatch):
    import limits.storage.memory

    import web.abuse

    fake = _Clock()
    monkeypatch.setattr(limits.storage.memory, "time", fake)
    monkeypatch.setattr(web.abuse, "time", fake)
    return fake


# -- sign-in --------------------------------------------------------------------------------------
def test_the_sixth_failed_login_for_an_account_is_refused_from_any_address(app):
    for i in range(5):
        assert sign_in(app, f"10.0.0.{i + 1}", "admin_utama").status_code == 401
    r = sign_in(app, "10.9.9.9", "admin_utama")  # a sixth address, never seen before
    assert r.status_code == 429
    text = page(r)
    assert "Terlalu banyak percobaan masuk yang gagal" in text
    assert "Coba lagi dalam 15 menit" in text
    assert 850 < int(r.headers["Retry-After"]) <= 900


def test_a_correct_password_is_refused_while_throttled_and_accepted_when_the_period_ends(app, clock):
    for _ in range(5):
        assert sign_in(app, "10.0.0.1", "admin_utama").status_code == 401
    r = sign_in(app, "10.0.0.1", "admin_utama", DEMO_PASSWORD)
    assert r.status_code == 429
    assert "walaupun kata sandinya benar" in page(r)
    clock.offset += 14 * 60
    assert sign_in(app, "10.0.0.2", "admin_utama", DEMO_PASSWORD).status_code == 429
    clock.offset += 2 * 60  # past the 15 minutes
    assert sign_in(app, "10.0.0.2", "admin_utama", DEMO_PASSWORD).status_code == 302


def test_the_wait_grows_when_failures_go_on(app, clock):
    for _ in range(5):
        assert sign_in(app, "10.0.0.1", "kadis").status_code == 401
    first = sign_in(app, "10.0.0.1", "kadis")
    assert first.status_code == 429 and int(first.headers["Retry-After"]) <= 15 * 60
    clock.offset += 16 * 60
    for _ in range(5):  # ten failures within the hour
        assert sign_in(app, "10.0.0.1", "kadis").status_code == 401
    second = sign_in(app, "10.0.0.1", "kadis", DEMO_PASSWORD)
    assert second.status_code == 429
    assert int(second.headers["Retry-After"]) > 40 * 60  # until the hour since the first failure ends
    assert re.search(r"Coba lagi dalam 4\d menit", page(second))


def test_another_account_is_not_affected(app):
    for _ in range(6):
        sign_in(app, "10.0.0.1", "admin_utama")
    assert sign_in(app, "10.0.0.1", "admin_utama", DEMO_PASSWORD).status_code == 429
    assert sign_in(app, "10.0.0.1", "kadis").status_code == 401
    assert sign_in(app, "10.0.0.1", "kadis", DEMO_PASSWORD).status_code == 302


def test_successful_logins_do_not_count(app):
    for _ in range(4):
        assert sign_in(app, "10.0.0.1", "admin_utama").status_code == 401
    for _ in range(10):
        assert sign_in(app, "10.0.0.1", "admin_utama", DEMO_PASSWORD).status_code == 302
    assert sign_in(app, "10.0.0.1", "admin_utama").status_code == 401  # the fifth failure
    assert sign_in(app, "10.0.0.1", "admin_utama", DEMO_PASSWORD).status_code == 429


def test_the_account_is_counted_by_its_normalised_name(app):
    for name in ["admin_utama", "Admin_Utama", " ADMIN_UTAMA", "admin_utama ", "aDmIn_uTaMa"]:
        assert sign_in(app, "10.0.0.1", name).status_code == 401
    assert sign_in(app, "10.0.0.2", "admin_utama", DEMO_PASSWORD).status_code == 429


def test_twenty_failures_from_one_address_throttle_that_address_only(app):
    for i in range(20):  # four guesses at each of five names, none reaching the account limit
        assert sign_in(app, "10.0.0.7", f"tamu{i % 5}").status_code == 401
    r = sign_in(app, "10.0.0.7", "kadis", DEMO_PASSWORD)
    assert r.status_code == 429
    assert "Coba lagi dalam" in page(r)
    assert sign_in(app, "10.0.0.8", "kadis", DEMO_PASSWORD).status_code == 302


def test_throttled_logins_are_logged_without_the_typed_name_or_password(app, caplog):
    caplog.set_level(logging.INFO)
    for _ in range(6):
        sign_in(app, "10.0.0.1", "admin_utama")
    for i in range(21):
        sign_in(app, "10.0.0.2", "penyusup-tak-dikenal" if i == 20 else f"tebak{i % 5}")
    throttled = [r for r in caplog.records if getattr(r, "event", None) == "login.throttled"]
    assert len(throttled) == 2
    from runner.store import User
    from sqlalchemy import select

    with app.extensions["sop"].factory() as s:
        admin_id = s.scalar(select(User.id).where(User.username == "admin_utama"))
    assert throttled[0].fields["account"] == admin_id and throttled[0].fields["by"] == "account"
    assert throttled[1].fields["account"] == "-" and throttled[1].fields["by"] == "address"
    assert all(r.levelno == logging.WARNING and r.fields["retry_after"] > 0 for r in throttled)
    every_line = "\n".join(f"{r.getMessage()} {getattr(r, 'fields', '')}" for r in caplog.records)
    assert WRONG not in every_line
    assert "penyusup-tak-dikenal" not in every_line


def test_limits_switched_off_never_refuse(db_url, seeded):
    app = make_app(db_url)  # the other suites' default
    try:
        for _ in range(25):
            assert sign_in(app, "10.0.0.1", "admin_utama").status_code == 401
        assert sign_in(app, "10.0.0.1", "admin_utama", DEMO_PASSWORD).status_code == 302
    finally:
        dispose(app)


# -- the citizens' pages --------------------------------------------------------------------------
def test_the_public_form_refuses_a_fourth_report_in_a_minute(app, factory):
    citizen = visitor(app, "10.1.0.1")
    for _ in range(3):
        assert citizen.submit(PUBLIC_FORM, REPORT, control="nonce").status_code == 302
    before = case_count(factory)
    r = citizen.submit(PUBLIC_FORM, REPORT, control="nonce")
    assert r.status_code == 429
    assert "Terlalu banyak laporan sekaligus" in page(r) and "belum tersimpan" in page(r)
    assert 0 < int(r.headers["Retry-After"]) <= 60
    assert case_count(factory) == before
    assert citizen.get(PUBLIC_FORM).status_code == 200  # reading the form is not limited
    assert visitor(app, "10.1.0.2").submit(PUBLIC_FORM, REPORT, control="nonce").status_code == 302


def test_the_public_form_counts_every_post_too(db_url, seeded):
    app = make_app(db_url, RATELIMIT_ENABLED=True, SOP_LIMIT_REPORT_POSTS="5 per hour")
    try:
        citizen = visitor(app, "10.1.0.1")
        for _ in range(5):  # an empty form: refused as invalid, nothing filed
            assert citizen.submit(PUBLIC_FORM, {"judul": "", "isi_laporan": ""}, control="nonce").status_code == 400
        assert citizen.submit(PUBLIC_FORM, REPORT, control="nonce").status_code == 429
    finally:
        dispose(app)


def test_the_tracking_page_refuses_the_sixty_first_lookup_in_a_minute(app):
    citizen = visitor(app, "10.2.0.1")
    for i in range(60):
        assert citizen.get(f"/lacak?kode=TIDAK-ADA-{i}").status_code == 404
    r = citizen.get("/lacak?kode=TIDAK-ADA")
    assert r.status_code == 429
    assert "Halaman pelacakan dibuka berkali-kali" in page(r)
    assert 0 < int(r.headers["Retry-After"]) <= 60
    assert visitor(app, "10.2.0.2").get("/lacak").status_code == 200


def test_limits_can_be_lowered_in_the_app_config(db_url, seeded):
    app = make_app(db_url, RATELIMIT_ENABLED=True, SOP_LIMIT_TRACK="2 per minute")
    try:
        citizen = visitor(app, "10.2.0.1")
        assert [citizen.get("/lacak").status_code for _ in range(3)] == [200, 200, 429]
    finally:
        dispose(app)


def test_a_malformed_limit_stops_the_start(db_url, seeded):
    with pytest.raises(ConfigurationError, match="SOP_LIMIT_TRACK"):
        make_app(db_url, RATELIMIT_ENABLED=True, SOP_LIMIT_TRACK="sixty a minute")


def test_an_unusable_limit_storage_stops_the_start_with_a_hint(db_url, seeded):
    with pytest.raises(ConfigurationError, match="SOP_RATELIMIT_STORAGE"):
        make_app(db_url, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="nosuchstore://localhost")


def test_settings_read_the_storage_and_the_proxy_hops():
    s = Settings.from_env({"SOP_RATELIMIT_STORAGE": "redis://cache:6379", "SOP_PROXY_HOPS": "2"})
    assert s.ratelimit_storage == "redis://cache:6379" and s.proxy_hops == 2
    s = Settings.from_env({})
    assert s.ratelimit_storage == "memory://" and s.proxy_hops == 0
    with pytest.raises(ConfigurationError, match="SOP_PROXY_HOPS"):
        Settings.from_env({"SOP_PROXY_HOPS": "yes"})


def test_ipv6_clients_are_counted_by_their_64(app):
    from web.abuse import address_key

    with app.test_request_context(environ_base={"REMOTE_ADDR": "2001:db8:1:2::1"}):
        one = address_key()
    with app.test_request_context(environ_base={"REMOTE_ADDR": "2001:db8:1:2:ffff::9"}):
        assert address_key() == one == "address:2001:db8:1:2::/64"
    with app.test_request_context(environ_base={"REMOTE_ADDR": "::ffff:192.0.2.1"}):
        assert address_key() == "address:192.0.2.1"


# -- the client address behind a proxy ------------------------------------------------------------
def test_without_proxy_hops_x_forwarded_for_is_ignored(app):
    for i in range(20):  # one socket address, a new forged X-Forwarded-For each time
        assert sign_in(app, "10.0.0.1", f"tamu{i % 5}", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code == 401
    r = sign_in(app, "10.0.0.1", "kadis", DEMO_PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.200")
    assert r.status_code == 429


def test_with_proxy_hops_the_forwarded_client_is_counted(db_url, seeded):
    app = make_app(db_url, RATELIMIT_ENABLED=True, SOP_PROXY_HOPS=1)
    try:
        proxy = "10.0.0.1"  # every request arrives from the proxy's socket
        for i in range(20):
            assert sign_in(app, proxy, f"tamu{i % 5}", HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 401
        assert sign_in(app, proxy, "kadis", DEMO_PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 429
        # Another client behind the same proxy; a client's own X-Forwarded-For entry is not trusted
        # (only the last hop's, which the proxy appended).
        r = sign_in(app, proxy, "kadis", DEMO_PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.7, 203.0.113.8")
        assert r.status_code == 302
    finally:
        dispose(app)


# -- CSRF tokens that expire ----------------------------------------------------------------------
def _token_made(app, client, seconds_ago: int) -> str:
    """A CSRF token for this client's session, signed ``seconds_ago`` (as Flask-WTF signs them)."""
    with client.session_transaction() as sess:
        raw = sess["csrf_token"]

    class ThenSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - seconds_ago

    class Then(URLSafeTimedSerializer):
        default_signer = ThenSigner

    return Then(app.config["SECRET_KEY"], salt="wtf-csrf-token").dumps(raw)


def test_an_expired_csrf_token_gets_a_page_that_says_so(app):
    v = visitor(app, "10.3.0.1")
    assert v.get("/masuk").status_code == 200
    old = _token_made(app, v.client, 9 * 3600)
    r = v.post("/masuk", {"csrf_token": old, "username": "admin_utama", "password": DEMO_PASSWORD})
    assert r.status_code == 400
    assert "Formulir ini dibuka lebih dari 8 jam yang lalu" in page(r)
    assert "Tidak ada yang disimpan" in page(r)


def test_a_csrf_token_seven_hours_old_still_works(app):
    v = visitor(app, "10.3.0.1")
    assert v.get("/masuk").status_code == 200
    token = _token_made(app, v.client, 7 * 3600)
    r = v.post("/masuk", {"csrf_token": token, "username": "admin_utama", "password": DEMO_PASSWORD})
    assert r.status_code == 302
