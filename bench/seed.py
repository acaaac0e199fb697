"""Target 6: ``sop seed-demo`` writes 1,000,000 cases with their history on PostgreSQL in ≤ 5 minutes.

The figure is the wall-clock minutes of ``seed_demo`` for the cases (12 months) on an emptied
database with the schema, the SOPs and the demo accounts already in place; the line also gives
the per-case cost against the per-step demo cases (``sop demo --cases``, every step through the
services), which is what the bulk path avoids. Without ``--postgres`` it runs on SQLite with
20,000 cases (and says so: that is not the target's size). ``--quick``: 2,000 cases.

    .venv/bin/python bench/seed.py [--quick] [--postgres postgresql+psycopg://postgres@127.0.0.1/bench]
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from common import Target, arguments, demo_database, report, reset_postgres


def main() -> list[Target]:
    args = arguments(__doc__)
    from sqlalchemy import func, select

    from runner.services.demo_cases import seed_cases
    from runner.services.seed_demo import seed_demo
    from runner.store import HistoryEntry, transaction

    with tempfile.TemporaryDirectory() as tmp:
        engine, factory, registry = demo_database(f"sqlite:///{Path(tmp) / 'walked.db'}")
        with transaction(factory) as s:
            t0 = time.perf_counter()
            walked = len(seed_cases(s, registry))
        per_walked = (time.perf_counter() - t0) / walked
        engine.dispose()
        if args.postgres:
            n = 2_000 if args.quick else 1_000_000
            reset_postgres(args.postgres)
            url, where = args.postgres, "PostgreSQL"
        else:
            n = 2_000 if args.quick else 20_000
            url, where = f"sqlite:///{Path(tmp) / 'seeded.db'}", "SQLite (not the target's database)"
        engine, factory, registry = demo_database(url)
        t0 = time.perf_counter()
        with transaction(factory) as s:
            seeded = seed_demo(s, registry, months=12, cases=n)
        elapsed = time.perf_counter() - t0
        with factory() as s:
            history = s.scalar(select(func.count()).select_from(HistoryEntry)) or 0
        engine.dispose()
    minutes_per_million = elapsed / seeded.cases * 1_000_000 / 60
    return report([Target("seed-million-minutes", minutes_per_million, 5.0, unit="min",
                          figures=f"{seeded.cases:,} cases and {history:,} history rows in {elapsed:.1f} s on {where} "
                                  f"({elapsed / seeded.cases * 1e3:.2f} ms a case; walked demo cases "
                                  f"{per_walked * 1e3:.0f} ms a case); the figure: minutes for a million at that rate")])


if __name__ == "__main__":
    main()
