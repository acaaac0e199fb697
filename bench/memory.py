"""Target 7: a worker that serves 10,000 mixed requests grows by less than 10 MB.

One process serves through the Flask test client (the whole WSGI stack, no network): signed-in
staff open the inbox, the case list, a search, case pages and a recap; the public opens the home
page, a tracking page and the submit form. The resident set size (``/proc/self/statm``) is read after
a warm-up of 1,000 requests and again after 10,000 more; the figure is the growth in MB (limit < 10).

    .venv/bin/python bench/memory.py [--quick]
"""

from __future__ import annotations

import gc
import itertools
import os
import tempfile
from pathlib import Path

from common import ROOT, Target, arguments, report


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> list[Target]:
    args = arguments(__doc__)
    warm, count = (200, 1000) if args.quick else (1000, 10_000)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(SOP_DATABASE_URL=f"sqlite:///{Path(tmp) / 'memory.db'}",
                          SECRET_KEY="bench-only-secret-key-0123456789",
                          SOP_DEFINITIONS=str(ROOT / "sop_definitions"), SOP_LOG_LEVEL="WARNING",
                          SOP_LIMIT_TRACK="1000000 per minute")  # the public limit would answer 429 instead
        from sqlalchemy import select

        from runner.cli import main as sop
        from runner.store import Case, make_engine, session_factory
        from web import create_app

        sop(["demo", "--cases", "--database", os.environ["SOP_DATABASE_URL"]])
        app = create_app()
        app.config.update(RATELIMIT_ENABLED=False, WTF_CSRF_ENABLED=False)
        with session_factory(make_engine(os.environ["SOP_DATABASE_URL"]))() as s:
            case_ids = list(s.scalars(select(Case.id).where(Case.sop_id == "laporisp4n").limit(20)))
            codes = list(s.scalars(select(Case.tracking_code).where(Case.tracking_code.is_not(None)).limit(5)))
        staff = app.test_client()
        staff.post("/masuk", data={"username": "admin_utama", "password": "demo-sop-2026"})
        public = app.test_client()
        urls = itertools.cycle(
            [(staff, "/kotak-masuk"), (staff, "/kasus"), (staff, "/kasus?q=jalan")]
            + [(staff, f"/kasus/{i}") for i in case_ids]
            + [(public, "/"), *((public, f"/lacak?kode={c}") for c in codes)])
        statuses: dict[int, int] = {}

        def serve(n: int) -> None:
            for client, url in itertools.islice(urls, n):
                code = client.get(url).status_code
                statuses[code] = statuses.get(code, 0) + 1
        serve(warm)
        gc.collect()
        before = _rss_mb()
        serve(count)
        gc.collect()
        after = _rss_mb()
    growth = after - before
    return report([Target("worker-memory", growth, 10.0, unit="MB",
                          figures=f"RSS {before:.1f} MB after {warm} requests, {after:.1f} MB after {count} more "
                                  f"(growth {growth:.1f} MB); statuses {dict(sorted(statuses.items()))}")])


if __name__ == "__main__":
    main()
