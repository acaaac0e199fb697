"""The database layer, on SQLite and (with SOP_TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import delete, inspect, select, text, update
from sqlalchemy.exc import DatabaseError, IntegrityError, StatementError
from sqlalchemy.orm.exc import StaleDataError

from runner import services
from runner.engine import Actor
from runner.store import Base, Case, Definition, HistoryEntry, transaction
from runner.store.db import alembic_config

WIB = ZoneInfo("Asia/Pontianak")
UTC = dt.timezone.utc
TABLES = {"definitions", "units", "users", "user_roles", "cases", "history", "delegations", "notices"}


def _in_metadata(name, type_, parent_names):
    """The full-text index of staff search (migration 0009) is outside SQLAlchemy's metadata: SQLite's
    FTS5 table ``case_search_fts`` with its shadow tables, PostgreSQL's GIN expression indexes."""
    if type_ == "table" and name.startswith("case_search_fts"):
        return False
    return not (type_ == "index" and name in ("ix_case_search_body", "ix_case_search_all"))


def diff(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True,
                                                     "include_name": _in_metadata})
        return compare_metadata(ctx, Base.metadata)


def test_migrations_match_the_models(db_engine):
    assert diff(db_engine) == []
    assert TABLES <= set(inspect(db_engine).get_table_names())


def test_migrations_go_down_and_up_again(db_engine):
    with db_engine.begin() as conn:
        command.downgrade(alembic_config(connection=conn), "base")
    assert not TABLES & set(inspect(db_engine).get_table_names())
    with db_engine.begin() as conn:
        command.upgrade(alembic_config(connection=conn), "head")
    assert diff(db_engine) == []
    with db_engine.connect() as conn:  # every migration, the trigger and index ones included, ran
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0012"


def definition(at: dt.datetime, version: str = "v1") -> Definition:
    return Definition(sop_id="contoh", version=version, title="Contoh", source_path="contoh.yaml",
                      source="id: contoh\n", published_at=at)


def case(defn: Definition, at: dt.datetime) -> Case:
    return Case(definition=defn, sop_id="contoh", flow="utama", state="terima", unit_id=None, tracking_code=None,
                title="Laporan", data={"judul": "Laporan", "jumlah": 2}, period=None, created_at=at, updated_at=at,
                due_at=None, due_advisory=False, closed_at=None)


def history(case_id: int, seq: int, at: dt.datetime) -> HistoryEntry:
    return HistoryEntry(case_id=case_id, seq=seq, at=at, user_id=None, actor_name="x", role="staf", unit_id=None,
                        activity=None, action=None, from_state=None, to_state="terima", data={}, due_at=None)


def test_utc_datetime_round_trips_aware_utc(factory):
    local = dt.datetime(2026, 11, 30, 10, 15, 30, 123456, tzinfo=WIB)
    with transaction(factory) as s:
        s.add(definition(local))
    with factory() as s:
        row = s.scalar(select(Definition))
        assert row.published_at == local  # the same instant
        assert row.published_at.tzinfo == UTC
        assert row.published_at.utcoffset() == dt.timedelta(0)
        assert (row.published_at.hour, row.published_at.microsecond) == (3, 123456)
        # what the database holds is the UTC wall-clock time, not the local one
        raw = s.execute(text("SELECT published_at FROM definitions")).scalar_one()
        if isinstance(raw, str):  # SQLite hands back text
            raw = dt.datetime.fromisoformat(raw)
        assert raw.replace(tzinfo=None) == dt.datetime(2026, 11, 30, 3, 15, 30, 123456)


def test_utc_datetime_compares_across_zones(factory):
    with transaction(factory) as s:
        s.add(definition(dt.datetime(2026, 11, 30, 23, 30, tzinfo=WIB), "a"))  # 16:30 UTC
        s.add(definition(dt.datetime(2026, 11, 30, 17, 0, tzinfo=UTC), "b"))
    with factory() as s:
        # 23:45 WIB is 16:45 UTC: after a, before b (a naive local comparison would say neither)
        later = s.scalars(select(Definition.version).where(
            Definition.published_at > dt.datetime(2026, 11, 30, 23, 45, tzinfo=WIB))).all()
        assert later == ["b"]
        ordered = s.scalars(select(Definition.version).order_by(Definition.published_at)).all()
        assert ordered == ["a", "b"]


def test_naive_datetimes_are_rejected(factory):
    with factory() as s:
        s.add(definition(dt.datetime(2026, 11, 30, 10, 0)))
        with pytest.raises(StatementError) as info:
            s.flush()
        assert isinstance(info.value.orig, ValueError)
        assert "naive datetime" in str(info.value)
        s.rollback()
    with factory() as s:
        assert s.scalar(select(Definition)) is None


def test_history_seq_is_unique_per_case(factory):
    now = dt.datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    with transaction(factory) as s:
        d = definition(now)
        c1, c2 = case(d, now), case(d, now)
        s.add_all([c1, c2])
        s.flush()
        s.add_all([history(c1.id, 1, now), history(c2.id, 1, now)])  # same seq, other case: fine
        ids = c1.id, c2.id
    with factory() as s:
        s.add(history(ids[0], 1, now))
        with pytest.raises(IntegrityError):
            s.flush()
        s.rollback()
    with factory() as s:
        assert s.scalar(select(HistoryEntry.id).where(HistoryEntry.case_id == ids[0]).where(HistoryEntry.seq == 2)) is None
        assert len(s.scalars(select(HistoryEntry)).all()) == 2


def test_case_version_guards_concurrent_updates(factory):
    now = dt.datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    with transaction(factory) as s:
        c = case(definition(now), now)
        s.add(c)
        s.flush()
        case_id = c.id
        assert c.version == 1
    with factory() as a, factory() as b:
        ca, cb = a.get(Case, case_id), b.get(Case, case_id)
        ca.state = "tindak"
        a.commit()
        assert ca.version == 2
        cb.state = "selesai"
        with pytest.raises(StaleDataError):
            b.commit()
    with factory() as s:
        assert s.get(Case, case_id).state == "tindak"


def test_json_data_round_trips(factory):
    now = dt.datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    data = {"judul": "Jalan rusak — Putussibau", "jumlah": 2, "nilai": 7.5, "ya": True, "kosong": None}
    with transaction(factory) as s:
        c = case(definition(now), now)
        c.data = data
        s.add(c)
    with factory() as s:
        assert s.scalar(select(Case)).data == data


def test_scheduled_period_is_unique(factory):
    now = dt.datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    with transaction(factory) as s:
        d = definition(now)
        c = case(d, now)
        c.flow, c.period = "rekap", "2026-11"
        s.add(c)
    with factory() as s:
        d = s.scalar(select(Definition))
        c = case(d, now)
        c.flow, c.period = "rekap", "2026-11"
        s.add(c)
        with pytest.raises(IntegrityError):
            s.flush()
        s.rollback()
    # but cases without a period (reports) are never in each other's way
    with transaction(factory) as s:
        d = s.scalar(select(Definition))
        s.add_all([case(d, now), case(d, now)])


def test_history_is_append_only_in_the_database(factory, registry, seeded):
    """Not even a direct UPDATE or DELETE can rewrite the audit trail."""
    with transaction(factory) as s:
        case_id = services.start_case(s, registry, "laporisp4n", "pengaduan",
                                      {"judul": "x", "isi_laporan": "y", "nama_pelapor": "z"},
                                      actor=Actor.public("pelapor")).id
    for stmt in (update(HistoryEntry).where(HistoryEntry.case_id == case_id).values(actor_name="forged"),
                 delete(HistoryEntry).where(HistoryEntry.case_id == case_id)):
        with pytest.raises(DatabaseError, match="append-only"):
            with transaction(factory) as s:
                s.execute(stmt)
    with factory() as s:
        [row] = s.scalars(select(HistoryEntry).where(HistoryEntry.case_id == case_id))
        assert row.actor_name == "Pelapor"
