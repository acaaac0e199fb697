"""The production shape: gunicorn with several worker processes against one PostgreSQL database.

Two people submitting the same step at the same moment, each request landing on whichever worker
picks it up: exactly one must win, the other must be told the case moved on, and the history must
hold exactly one new row.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from runner import services
from runner.engine import Actor
from runner.store import HistoryEntry, make_engine, session_factory, transaction

from conftest import DEFINITIONS, REPORT, fresh_postgres

pytestmark = pytest.mark.postgres
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_serving(proc: subprocess.Popen, port: int, output, seconds: float = 60) -> None:
    """Wait until gunicorn accepts connections on ``port``; fail with its ``output()`` if it exits."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(output()) from None
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"gunicorn did not start within {seconds:.0f} s")


class Browser:
    """A cookie-keeping HTTP client that does not follow redirects (we want to see them)."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), self._NoRedirect)

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=30) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def csrf(self, path: str) -> str:
        status, html = self.request(path)
        assert status == 200, (path, status)
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def login(self, username: str) -> None:
        token = self.csrf("/masuk")
        status, _ = self.request("/masuk", {"csrf_token": token, "username": username, "password": "demo-sop-2026"})
        assert status == 302


@pytest.fixture
def db_url():
    return fresh_postgres()


@pytest.fixture
def gunicorn_app(db_url, tmp_path):
    subprocess.run([str(BIN / "sop"), "demo", "--database", db_url, "--definitions", str(DEFINITIONS)],
                   check=True, capture_output=True)
    port = free_port()
    env = {**os.environ, "SOP_DATABASE_URL": db_url, "SOP_DEFINITIONS": str(DEFINITIONS),
           "SECRET_KEY": "shared-by-every-worker", "SOP_INSTANCE_PATH": str(tmp_path)}
    proc = subprocess.Popen([str(BIN / "gunicorn"), "--workers", "3", "--bind", f"127.0.0.1:{port}",
                             "web:create_app()"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            cwd=Path(__file__).resolve().parents[1])
    wait_until_serving(proc, port, lambda: proc.stdout.read().decode(), seconds=30)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


def test_two_people_on_two_workers_exactly_one_wins(gunicorn_app, db_url, registry):
    factory = session_factory(make_engine(db_url))
    with transaction(factory) as s:
        case = services.start_case(s, registry, "laporisp4n", "pengaduan", REPORT, actor=Actor.public("pelapor"))
        case_id, version = case.id, case.version

    # Two sessions of the same Admin Utama account (two browser tabs, two machines), each with a form.
    people = [Browser(gunicorn_app) for _ in range(2)]
    tokens = []
    for person in people:
        person.login("admin_utama")
        tokens.append(person.csrf(f"/kasus/{case_id}"))
    results: list[int] = []
    barrier = threading.Barrier(2)

    def submit(person: Browser, token: str, kanal: str) -> None:
        barrier.wait()
        status, _ = person.request(f"/kasus/{case_id}", {"csrf_token": token, "version": str(version),
                                                          "action": "simpan", "kanal": kanal})
        results.append(status)

    threads = [threading.Thread(target=submit, args=(p, t, k)) for p, t, k in zip(people, tokens, ["web", "sms"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sorted(results) == [302, 409]
    with transaction(factory) as s:
        rows = s.scalar(select(func.count()).select_from(HistoryEntry).where(HistoryEntry.case_id == case_id))
        view = services.case_view(s, registry, case_id, Actor(None, "x", frozenset({"kadis"})))
    assert rows == 2  # the opening and exactly one step
    assert view.case.state == "verifikasi_laporan"
    assert view.case.data["kanal"] in ("web", "sms")


def test_every_worker_serves_the_demo_login_and_public_pages(gunicorn_app):
    client = Browser(gunicorn_app)
    for _ in range(6):  # several requests, spread over the workers
        status, html = client.request("/")
        assert status == 200 and "LAPORISP4N" in html
    client.login("kadis")
    status, html = client.request("/kotak-masuk")
    assert status == 200
