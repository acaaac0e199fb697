"""Target 2: a persisted step through the real service vs the same writes done by the raw driver.

Ours: ``services.perform_step`` of LAPOR step 2 (*Verifikasi*, action *valid*) in its own
``transaction`` — access policy, form cleaning, engine trigger, due time, history entry, versioned
case update, commit — on a case created through the services. The baseline, on the same database,
schema and connection settings, does what any implementation of that step must do with the bare
driver (``sqlite3`` / ``psycopg``): read the case row, read when its last history entry was written,
insert the history entry, update the case guarded by its version, commit. Limits: ≤ 2× on SQLite,
≤ 1.5× on PostgreSQL (`--postgres URL`, a database of its own: it is emptied).

    .venv/bin/python bench/persist.py [--quick] [--postgres postgresql+psycopg://postgres@127.0.0.1/bench]
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

from common import NOW, Target, arguments, demo_database, paired, report, reset_postgres

REPORT = {"judul": "Jalan berlubang di Putussibau", "isi_laporan": "Lubang besar di depan pasar.",
          "nama_pelapor": "Budi", "kontak_pelapor": "0812345678"}
STEP1 = {"kanal": "web", "kategori": "Infrastruktur"}
STEP2 = {"catatan_verifikasi": "Laporan lengkap."}


def _cases_at_step_2(factory, registry, n: int) -> list[int]:
    from sqlalchemy import select

    from runner import services
    from runner.access import Actor
    from runner.store import User, transaction

    with transaction(factory) as s:
        admin = services.actor_for(s.scalar(select(User).where(User.username == "admin_utama")))
    ids = []
    for i in range(n):
        at = NOW + dt.timedelta(seconds=i)
        with transaction(factory) as s:
            case = services.start_case(s, registry, "laporisp4n", "pengaduan", REPORT, actor=Actor.public("pelapor"),
                                       now=at)
            services.perform_step(s, registry, case.id, admin, "simpan", STEP1, expected_version=None, now=at)
            ids.append(case.id)
    return ids


def _ours(factory, registry, ids: list[int]):
    from sqlalchemy import select

    from runner import services
    from runner.store import User, transaction

    with transaction(factory) as s:
        admin = services.actor_for(s.scalar(select(User).where(User.username == "admin_utama")))
    queue = iter(ids)

    def step() -> None:
        case_id = next(queue)
        with transaction(factory) as s:
            services.perform_step(s, registry, case_id, admin, "valid", STEP2, expected_version=2)
    return step


_READ = ("SELECT id, definition_id, state, unit_id, data, version, due_at, closed_at, paused_at, created_at "
         "FROM cases WHERE id = {p}")
_LAST = "SELECT max(at) FROM history WHERE case_id = {p}"
_INSERT = ("INSERT INTO history (case_id, seq, at, user_id, actor_name, role, unit_id, activity, action, from_state, "
           "to_state, data, due_at, worked_minutes) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, "
           "{p}, {p}, {p})")
_UPDATE = ("UPDATE cases SET state = {p}, data = {p}, updated_at = {p}, due_at = {p}, version = {p} "
           "WHERE id = {p} AND version = {p}")


def _raw(connect, placeholder: str, ids: list[int], stamp):
    """The same step with the bare driver: ``connect()`` gives a DB-API connection (kept open, as a
    pool would); ``stamp`` turns a datetime into what the driver stores."""
    conn = connect()
    queue = iter(ids)
    sql = {k: v.format(p=placeholder) for k, v in (("read", _READ), ("last", _LAST), ("insert", _INSERT),
                                                     ("update", _UPDATE))}

    def step() -> None:
        case_id = next(queue)
        now = dt.datetime.now(dt.timezone.utc)
        cur = conn.cursor()
        cur.execute(sql["read"], (case_id,))
        row = cur.fetchone()
        data = row[4] if isinstance(row[4], dict) else json.loads(row[4])
        cur.execute(sql["last"], (case_id,))
        cur.fetchone()
        data = {**data, **STEP2}
        due = now + dt.timedelta(hours=4)
        cur.execute(sql["insert"], (case_id, row[5] + 1, stamp(now), 1, "Admin Utama", "admin_utama", None,
                                    "verifikasi_laporan", "valid", "verifikasi_laporan", "ringkasan_pimpinan",
                                    json.dumps(STEP2), stamp(due), 5))
        cur.execute(sql["update"], ("ringkasan_pimpinan", json.dumps(data), stamp(now), stamp(due), row[5] + 1,
                                    case_id, row[5]))
        assert cur.rowcount == 1
        conn.commit()
    return step, conn


def _sqlite(quick: bool) -> Target:
    import sqlite3

    n, rounds = (20, 3) if quick else (200, 7)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "persist.db"
        engine, factory, registry = demo_database(f"sqlite:///{path}")
        ours_ids = _cases_at_step_2(factory, registry, n * rounds)
        base_ids = _cases_at_step_2(factory, registry, n * rounds)

        def connect():
            conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA journal_mode=WAL")
            return conn
        stamp = lambda t: t.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(" ")  # noqa: E731
        base, conn = _raw(connect, "?", base_ids, stamp)
        ours_s, base_s, ratio = paired(_ours(factory, registry, ours_ids), base, n, rounds)
        conn.close()
        engine.dispose()
    return Target("persisted-step-sqlite", ratio, 2.0,
                  figures=f"service step {ours_s * 1e6:.0f} µs, raw sqlite3 {base_s * 1e6:.0f} µs (median of {rounds} rounds of {n})")


def _postgres(url: str, quick: bool) -> Target:
    import psycopg
    from sqlalchemy.engine import make_url

    n, rounds = (20, 3) if quick else (200, 7)
    reset_postgres(url)
    engine, factory, registry = demo_database(url)
    ours_ids = _cases_at_step_2(factory, registry, n * rounds)
    base_ids = _cases_at_step_2(factory, registry, n * rounds)
    parsed = make_url(url)
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    base, conn = _raw(lambda: psycopg.connect(dsn), "%s", base_ids, lambda t: t)
    ours_s, base_s, ratio = paired(_ours(factory, registry, ours_ids), base, n, rounds)
    conn.close()
    engine.dispose()
    return Target("persisted-step-postgresql", ratio, 1.5,
                  figures=f"service step {ours_s * 1e6:.0f} µs, raw psycopg {base_s * 1e6:.0f} µs (median of {rounds} rounds of {n})")


def main() -> list[Target]:
    args = arguments(__doc__)
    targets = [_sqlite(args.quick)]
    if args.postgres:
        targets.append(_postgres(args.postgres, args.quick))
    else:
        print("persisted-step-postgresql: skipped (give --postgres URL)")
    return report(targets)


if __name__ == "__main__":
    main()
