"""Shared fixtures. Every database test runs on SQLite and, when SOP_TEST_DATABASE_URL names a
PostgreSQL server, on PostgreSQL too (marked ``postgres`` so that suite can run alone)."""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import select, text
from werkzeug.security import generate_password_hash

from runner import services
from runner.registry import Registry
from runner.services import accounts, demo
from runner.store import User, make_engine, session_factory, transaction, upgrade

REPO = Path(__file__).resolve().parents[1]
DEFINITIONS = REPO / "sop_definitions"
LAPOR = DEFINITIONS / "laporisp4n.yaml"


def _worker_database(url: str | None) -> str | None:
    """Under pytest-xdist each worker gets its own PostgreSQL database (``<name>_gw0``, …), created on
    first use, since every PostgreSQL test empties the database it runs on."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}) is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


PG_URL = _worker_database(os.environ.get("SOP_TEST_DATABASE_URL"))

# Uploaded files never land in the checkout's instance/uploads: servers started for a whole module
# (browser tests) write under this process's own directory, and each test gets a fresh one below
# (``own_uploads``), so `sop check-db` in one test never meets another test's files.
os.environ["SOP_UPLOADS"] = tempfile.mkdtemp(prefix="sop-test-uploads-")


@pytest.fixture(autouse=True)
def own_uploads(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SOP_UPLOADS", str(tmp_path_factory.mktemp("uploads")))


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch):
    """Every test seeds thirteen demo accounts: hash their passwords cheaply. Checking a password
    reads the method from the stored hash, so logins are verified exactly as in production."""
    monkeypatch.setattr(accounts, "generate_password_hash",
                        functools.partial(generate_password_hash, method="pbkdf2:sha256:1"))


@pytest.fixture(scope="session")
def registry() -> Registry:
    return Registry.from_directory(DEFINITIONS)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return fresh_postgres()


def fresh_postgres() -> str:
    """The PostgreSQL test database, emptied; skips (visibly) when none is configured."""
    if not PG_URL:
        pytest.skip("PostgreSQL tests need SOP_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return PG_URL


@pytest.fixture
def db_engine(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(db_engine):
    return session_factory(db_engine)


@pytest.fixture
def seeded(factory, registry):
    """Published definitions, demo units and one demo account per role."""
    with transaction(factory) as session:
        services.publish_all(session, registry)
        return demo.seed(session, registry)


@pytest.fixture
def app(db_url, seeded):
    """The Flask app on the seeded test database (every SOP published, one demo account per role).

    A test file needing other settings defines its own ``app`` (test_abuse: rate limits on)."""
    from web_helpers import dispose, make_app

    app = make_app(db_url)
    yield app
    dispose(app)


@pytest.fixture
def citizen(app):
    """A visitor without an account (the public pages)."""
    from web_helpers import Visitor

    return Visitor(app)


@pytest.fixture
def staff(app):
    """staff('kadis') -> a Visitor already signed in as that demo user (one per username)."""
    from web_helpers import Visitor

    made = {}

    def get(username: str):
        if username not in made:
            made[username] = Visitor(app)
            made[username].login(username)
        return made[username]

    return get


@pytest.fixture
def actor(factory, seeded):
    """actor('kadis') -> the engine Actor of that demo account."""

    def get(username: str):
        with transaction(factory) as session:
            user = session.scalar(select(User).where(User.username == username))
            assert user is not None, f"no demo user {username}"
            return services.actor_for(user)

    return get


REPORT = {"judul": "Jalan berlubang di Putussibau", "isi_laporan": "Lubang besar di depan pasar.",
          "nama_pelapor": "Budi", "kontak_pelapor": "0812345678"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (SOP_TEST_REQUIRE_ALL=1) a skipped PostgreSQL, browser or package test is a failure: those
    suites must really run there, not quietly skip because a server, browser or package index went missing."""
    outcome = yield
    report = outcome.get_result()
    if (os.environ.get("SOP_TEST_REQUIRE_ALL") == "1" and report.skipped
            and any(item.get_closest_marker(m) for m in ("postgres", "browser", "package", "stress"))):
        report.outcome = "failed"
        report.longrepr = f"required suite was skipped in CI: {report.longrepr}"
