"""Target 4: every page at many cases against the same page at 1,000.

For each size a database is filled by ``sop seed-demo`` (12 months of LAPOR and PPID cases across
the demo units, every branch, overdue, paused, escalated and delegated ones), then each page is
fetched through the whole Flask stack (test client, signed in as Admin Utama, who sees every LAPOR
case; the dashboard as the Kabid) and timed; medians of several fetches. Pages: the inbox, a case page, the tracking page, the
first and the last page of the case list (the last by its keyset cursor), a text search, the
leaders' dashboard and the monthly recap's case page.

* SQLite: 100,000 cases vs 1,000, each page ≤ 1.5× (``pages-sqlite-<page>``).
* PostgreSQL (``--postgres URL``, emptied): 1,000,000 vs 1,000, each page ≤ 2×
  (``pages-postgresql-<page>``), and each median under 50 ms (``page-ms-postgresql-<page>``).

Each size runs in its own process (settings are read once per process). Seeding dominates the run
time: about 8 ms a case on SQLite here. ``--quick`` uses 200 vs 2,000 cases.

    .venv/bin/python bench/pages.py [--quick] [--postgres postgresql+psycopg://postgres@127.0.0.1/bench]
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, Target, arguments, report

PAGES = ("inbox", "case", "tracking", "list-first", "list-last", "search", "dashboard", "recap")


def _child(url: str, cases: int, repeat: int) -> dict[str, float]:
    """Runs in the child process: seed, then time every page; returns median seconds per page."""
    os.environ.update(SOP_DATABASE_URL=url, SECRET_KEY="bench-only-secret-key-0123456789",
                      SOP_DEFINITIONS=str(ROOT / "sop_definitions"), SOP_LOG_LEVEL="WARNING",
                      SOP_LIMIT_TRACK="1000000 per minute")
    from sqlalchemy import select

    from runner.cli import main as sop
    from runner.services.search import Cursor, Sort
    from runner.store import Case, make_engine, session_factory
    from web import create_app

    sop(["demo", "--database", url])
    sop(["seed-demo", "--months", "12", "--cases", str(cases), "--database", url])
    engine = make_engine(url)
    with session_factory(engine)() as s:
        lapor = (Case.sop_id == "laporisp4n")
        recent = s.scalar(select(Case.id).where(lapor, Case.period.is_(None)).order_by(Case.id.desc()).limit(1))
        code = s.scalar(select(Case.tracking_code).where(lapor, Case.tracking_code.is_not(None))
                        .order_by(Case.id.desc()).limit(1))
        recap = s.scalar(select(Case.id).where(lapor, Case.period.is_not(None)).order_by(Case.id.desc()).limit(1))
        # the keyset cursor of the last page of "every case, newest first": after the 31st oldest
        edge = s.execute(select(Case.created_at, Case.id).where(lapor).order_by(Case.created_at, Case.id)
                         .offset(30).limit(1)).one()
    engine.dispose()
    last = Cursor(False, Sort.NEWEST, edge[0], edge[1]).encode()
    app = create_app()

    def signed_in(username: str):
        client = app.test_client()
        login = client.get("/masuk").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
        client.post("/masuk", data={"csrf_token": token, "username": username, "password": "demo-sop-2026"})
        return client
    staff, leader = signed_in("admin_utama"), signed_in("kabid")  # the dashboard is for leaders
    public = app.test_client()
    urls = {
        "inbox": (staff, "/kotak-masuk"), "case": (staff, f"/kasus/{recent}"),
        "tracking": (public, f"/lacak?kode={code}"), "list-first": (staff, "/kasus?status=semua"),
        "list-last": (staff, f"/kasus?status=semua&setelah={last}"), "search": (staff, "/kasus?q=jalan&status=semua"),
        "dashboard": (leader, "/dasbor/laporisp4n"), "recap": (staff, f"/kasus/{recap}"),
    }
    out = {}
    for name, (client, path) in urls.items():
        status = client.get(path).status_code  # warm: templates compiled, caches filled
        if status != 200:
            raise SystemExit(f"{name}: {path} answered {status}")
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            client.get(path)
            times.append(time.perf_counter() - t0)
        out[name] = statistics.median(times)
    return out


def _run(url: str, cases: int, repeat: int) -> dict[str, float]:
    result = subprocess.run([sys.executable, __file__, "--child", url, str(cases), str(repeat)], check=True,
                            capture_output=True, text=True, cwd=ROOT)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _targets(kind: str, small: dict[str, float], big: dict[str, float], n_small: int, n_big: int,
             limit: float) -> list[Target]:
    out = [Target(f"pages-{kind}-{p}", big[p] / small[p], limit,
                  figures=f"{n_big:,} cases {big[p] * 1e3:.1f} ms, {n_small:,} cases {small[p] * 1e3:.1f} ms")
           for p in PAGES]
    if kind == "postgresql":
        out += [Target(f"page-ms-postgresql-{p}", big[p] * 1e3, 50, figures=f"median at {n_big:,} cases", unit="ms") for p in PAGES]
    return out


def main() -> list[Target]:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(_child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
        return []
    args = arguments(__doc__)
    from common import reset_postgres

    small_n, big_n, repeat = (200, 2_000, 5) if args.quick else (1_000, 100_000, 21)
    targets = []
    with tempfile.TemporaryDirectory() as tmp:
        small = _run(f"sqlite:///{Path(tmp) / 'small.db'}", small_n, repeat)
        big = _run(f"sqlite:///{Path(tmp) / 'big.db'}", big_n, repeat)
    targets += _targets("sqlite", small, big, small_n, big_n, 1.5)
    if args.postgres:
        pg_big = 5_000 if args.quick else 1_000_000
        reset_postgres(args.postgres)
        small = _run(args.postgres, small_n, repeat)
        reset_postgres(args.postgres)
        big = _run(args.postgres, pg_big, repeat)
        targets += _targets("postgresql", small, big, small_n, pg_big, 2.0)
    else:
        print("pages-postgresql: skipped (give --postgres URL)")
    return report(targets)


if __name__ == "__main__":
    main()
