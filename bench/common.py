"""What every benchmark script shares: timing, the target line, the quick mode, a demo database.

Each script measures one target of the performance issue as a *ratio* against a baseline measured
in the same run (machines are shared and noisy; absolute times drift, ratios much less), and prints

    target NAME: ratio R (limit L) met        or        target NAME: ratio R (limit L) MISSED

followed by its raw figures. ``--quick`` (``make bench-quick``, run by CI so the scripts never rot)
uses small sizes and few repeats: its figures only show the script still runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
import timeit
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
LAPOR = ROOT / "sop_definitions" / "laporisp4n.yaml"


@dataclass(frozen=True)
class Target:
    """One line of the report: ``ratio`` compared with ``limit`` (``at_most``: ours / baseline must not
    exceed it; otherwise the ratio is "times faster" and must reach it)."""

    name: str
    ratio: float
    limit: float
    at_most: bool = True
    figures: str = ""
    unit: str = ""  # set for a plain figure (ms, MB, minutes) rather than a ratio

    @property
    def met(self) -> bool:
        return self.ratio <= self.limit if self.at_most else self.ratio >= self.limit

    def line(self) -> str:
        word = "met" if self.met else "MISSED"
        sign = "≤" if self.at_most else "≥"
        if self.unit:
            return f"target {self.name}: {self.ratio:.2f} {self.unit} (limit {sign} {self.limit:g} {self.unit}) {word}"
        return f"target {self.name}: ratio {self.ratio:.2f} (limit {sign} {self.limit:g}) {word}"


def report(targets: Iterable[Target]) -> list[Target]:
    out = list(targets)
    for t in out:
        print(t.line(), flush=True)
        if t.figures:
            for row in t.figures.splitlines():
                print(f"    {row}")
    return out


def median_seconds(fn: Callable[[], object], number: int, repeat: int = 5) -> float:
    """Median seconds per call over ``repeat`` batches of ``number`` calls."""
    return statistics.median(t / number for t in timeit.repeat(fn, number=number, repeat=repeat))


def paired(ours: Callable[[], object], base: Callable[[], object], number: int,
           rounds: int = 7) -> tuple[float, float, float]:
    """Median per-call seconds of both, measured in alternating rounds so drifting machine load hits
    both alike; returns (ours, baseline, median of the per-round ratios)."""
    a: list[float] = []
    b: list[float] = []
    ratios: list[float] = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(number):
            ours()
        t1 = time.perf_counter()
        for _ in range(number):
            base()
        t2 = time.perf_counter()
        a.append((t1 - t0) / number)
        b.append((t2 - t1) / number)
        ratios.append(a[-1] / b[-1])
    return statistics.median(a), statistics.median(b), statistics.median(ratios)


def arguments(doc: str | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the script runs, not the figures")
    parser.add_argument("--postgres", metavar="URL", default=None,
                        help="a PostgreSQL database to use (emptied!), e.g. postgresql+psycopg://postgres@127.0.0.1/bench")
    return parser.parse_args()


def demo_database(url: str):
    """A migrated database with every SOP published and the demo accounts: (engine, factory, registry)."""
    from runner import services
    from runner.registry import Registry
    from runner.services import demo
    from runner.store import make_engine, session_factory, transaction, upgrade

    engine = make_engine(url)
    upgrade(engine)
    factory = session_factory(engine)
    registry = Registry.from_directory(ROOT / "sop_definitions")
    with transaction(factory) as s:
        services.publish_all(s, registry)
        demo.seed(s, registry)
    return engine, factory, registry


def reset_postgres(url: str) -> None:
    """Drop every table of the benchmark database (it is the benchmark's own: see --postgres)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


NOW = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.timezone.utc)  # a Monday, 10:00 WIB
