"""Benchmarks for SOP Runner. Prints ratios against baselines measured in the same run, because the
machines are shared and absolute times drift. Run: `make bench` (or `.venv/bin/python bench/run.py`).

1. load:    our definition loader (YAML with positions + JSON Schema + graph checks) vs plain
            `yaml.safe_load` of the same file.
2. engine:  one step through the transitions-based Engine (the access policy as the condition, form
            validation before, due time in working hours after) vs a bare `transitions` Machine of
            the same states triggering the same event with two plain guard conditions.
3. inbox:   services.waiting() for an OPD operator on a SQLite database holding 100,000 cases vs one
            holding 1,000, both with the same 900 open cases (the rest finished): the ratio shows
            whether the inbox slows down as finished cases pile up (1.0 = not at all).
4. browse:  the first page of open cases for agency-wide staff (Kabid), same two databases.
5. overdue: Calendar.working_minutes_between(now, due) on the LAPOR calendar for a due date a year
            ago vs one an hour ago (the overdue time shown per inbox row): 1.0 = constant time.
6. due:     Calendar.add for "30 hari" vs "1 jam" from the same start (the due time every step
            computes): 1.0 = the cost does not grow with the limit.
7. spiff:   the same step 4 (disposition) in SpiffWorkflow 3.2 running bench/laporisp4n.bpmn, the
            workflow restored from JSON before the step and serialized after it (what a web request
            has to do), vs our engine step; the ratio is how many times faster ours is. Needs
            `pip install -e '.[bench]'` (`make bench` does it).

8. aged:    the inbox of Admin Utama (services.waiting for 1,000 rows plus the deadline counts) with
            1,000 open cases all about three years overdue vs 1,000 fresh ones due within the next
            hours: 1.0 = old cases cost no more per row (deadline states are constant time).

The targets of the performance issue (one script each, `make bench`) are bench/all.py; this
script keeps the finer diagnostics above.

Run one part only with its name: `.venv/bin/python bench/run.py overdue`.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import tempfile
import timeit
from pathlib import Path

import yaml
from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from runner import services  # noqa: E402
from runner.definition import check_text, load_text  # noqa: E402
from runner.engine import Actor, Engine  # noqa: E402
from runner.registry import Registry  # noqa: E402
from runner.services import demo  # noqa: E402
from runner.store import Case, User, make_engine, session_factory, transaction, upgrade  # noqa: E402

LAPOR = ROOT / "sop_definitions" / "laporisp4n.yaml"
OPEN_CASES = 900


def best(stmt, number: int, repeat: int = 5) -> float:
    """Median seconds per call over ``repeat`` batches of ``number`` calls."""
    return statistics.median(t / number for t in timeit.repeat(stmt, number=number, repeat=repeat))


def bench_load() -> tuple[float, float]:
    text = LAPOR.read_text(encoding="utf-8")
    # check_text: the whole validation; load_text would answer an unchanged text from its cache
    ours = best(lambda: check_text(text, str(LAPOR)), number=5)
    base = best(lambda: yaml.safe_load(text), number=5)
    return ours, base


def bench_engine() -> tuple[float, float]:
    """Seconds per call of our engine step and of the bare trigger (see bench/engine.py)."""
    from engine import bare_trigger, engine_step

    return best(engine_step(), number=2000), best(bare_trigger(), number=2000)


def bench_overdue() -> tuple[float, float]:
    calendar = load_text(LAPOR.read_text(encoding="utf-8")).calendar
    now = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.timezone.utc)  # Monday 10:00 WIB
    year_ago, hour_ago = now - dt.timedelta(days=365), now - dt.timedelta(hours=1)
    calendar.working_minutes_between(now, year_ago)  # the calendar lives as long as its definition
    far = best(lambda: calendar.working_minutes_between(now, year_ago), number=2000)
    near = best(lambda: calendar.working_minutes_between(now, hour_ago), number=2000)
    return far, near


def bench_due() -> tuple[float, float]:
    from runner.durations import Duration

    calendar = load_text(LAPOR.read_text(encoding="utf-8")).calendar
    now = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.timezone.utc)
    month, hour = Duration(days=30), Duration(minutes=60)
    calendar.add(now, month)
    return best(lambda: calendar.add(now, month), number=2000), best(lambda: calendar.add(now, hour), number=2000)


def bench_spiff() -> tuple[float, float] | None:
    """Seconds per step: SpiffWorkflow (restore, step, serialize) and ours; None without SpiffWorkflow."""
    from engine import engine_step, spiff_step

    spiff = spiff_step()
    if spiff is None:
        return None
    return best(spiff, number=50), best(engine_step(), number=2000)


def make_db(n_cases: int, tmp: Path):
    engine = make_engine(f"sqlite:///{tmp / f'bench_{n_cases}.db'}")
    upgrade(engine)
    factory = session_factory(engine)
    registry = Registry.from_directory(ROOT / "sop_definitions")
    with transaction(factory) as s:
        rows = services.publish_all(s, registry)
        demo.seed(s, registry)
    sop = registry.get("laporisp4n")
    definition_id = next(r.id for r in rows if r.sop_id == "laporisp4n")
    open_states = [a.id for a in sop.activities if a.flow == "pengaduan"]
    units = ["dinkes", "disdik", "dpupr"]
    now = dt.datetime(2026, 11, 30, tzinfo=dt.timezone.utc)
    batch = []
    for i in range(n_cases):
        # A fixed 900 open cases; everything else is finished, as in a system that has run for years.
        state = open_states[i % len(open_states)] if i < OPEN_CASES else "selesai"
        activity = sop.activity(state)
        scoped = activity is not None and activity.no in (5, 6, 7, 8)
        batch.append(dict(
            definition_id=definition_id, sop_id=sop.id, flow="pengaduan", state=state,
            unit_id=units[(i // len(open_states)) % 3] if scoped or state == "selesai" else None, tracking_code=f"B{i:011d}",
            title=f"Laporan {i}", data={}, period=None, created_at=now - dt.timedelta(minutes=i), updated_at=now,
            due_at=now + dt.timedelta(hours=i % 50), due_advisory=False,
            closed_at=now if state == "selesai" else None, version=1,
        ))
    with engine.begin() as conn:
        for start in range(0, len(batch), 5000):
            conn.execute(insert(Case), batch[start:start + 5000])
    return factory, registry


def bench_lists(tmp: Path) -> dict[str, tuple[float, float]]:
    """Median seconds of each list page at 100,000 cases and at 1,000 (same 900 open cases)."""
    timings: dict[str, list[float]] = {"inbox": [], "browse": []}
    for n in (100_000, 1_000):
        factory, registry = make_db(n, tmp)
        with transaction(factory) as s:
            operator = services.actor_for(s.scalar(select(User).where(User.username == "operator_opd.dinkes")))
            kabid = services.actor_for(s.scalar(select(User).where(User.username == "kabid")))
        with factory() as s:
            timings["inbox"].append(best(lambda: services.waiting(s, registry, operator, limit=50), number=10))
            timings["browse"].append(best(lambda: services.browse(s, registry, kabid, per_page=50), number=10))
    return {k: (v[0], v[1]) for k, v in timings.items()}


def bench_aged(tmp: Path) -> tuple[float, float]:
    """Median seconds of Admin Utama's inbox with 1,000 cases years overdue, and with 1,000 fresh ones."""
    now = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.timezone.utc)  # Monday 10:00 WIB
    out = []
    for name, offset in (("old", -dt.timedelta(days=3 * 365)), ("fresh", dt.timedelta(hours=1))):
        engine = make_engine(f"sqlite:///{tmp / f'aged_{name}.db'}")
        upgrade(engine)
        factory = session_factory(engine)
        registry = Registry.from_directory(ROOT / "sop_definitions")
        with transaction(factory) as s:
            rows = services.publish_all(s, registry)
            demo.seed(s, registry)
        definition_id = next(r.id for r in rows if r.sop_id == "laporisp4n")
        batch = [dict(definition_id=definition_id, sop_id="laporisp4n", flow="pengaduan", state="verifikasi_laporan",
                      unit_id=None, tracking_code=f"A{i:011d}", title=f"Laporan {i}", data={}, period=None,
                      created_at=now + offset - dt.timedelta(hours=8), updated_at=now + offset - dt.timedelta(hours=8),
                      due_at=now + offset + dt.timedelta(minutes=i % 300), due_advisory=False, closed_at=None,
                      version=1) for i in range(1000)]
        with engine.begin() as conn:
            conn.execute(insert(Case), batch)
        with transaction(factory) as s:
            admin = services.actor_for(s.scalar(select(User).where(User.username == "admin_utama")))
        with factory() as s:
            def page() -> None:
                services.waiting(s, registry, admin, limit=1000, now=now)
                services.waiting_counts(s, registry, admin, now=now)
            out.append(best(page, number=3))
        engine.dispose()
    return out[0], out[1]


def main(parts: list[str]) -> None:
    wanted = set(parts) or {"load", "engine", "inbox", "browse", "overdue", "due", "aged", "spiff"}
    print(f"Python {sys.version.split()[0]}; medians of 5 batches; ratio = ours / baseline")
    if "load" in wanted:
        ours, base = bench_load()
        print(f"load      ours {ours * 1e3:8.2f} ms   yaml.safe_load {base * 1e3:8.2f} ms   ratio {ours / base:6.2f}")
    if "engine" in wanted:
        ours, base = bench_engine()
        print(f"engine    ours {ours * 1e6:8.1f} µs   bare trigger   {base * 1e6:8.2f} µs   ratio {ours / base:6.2f}")
    if wanted & {"inbox", "browse"}:
        with tempfile.TemporaryDirectory() as tmp:
            lists = bench_lists(Path(tmp))
        for name, (big, small) in lists.items():
            if name in wanted:
                print(f"{name:<9} 100k {big * 1e3:8.2f} ms   1k             {small * 1e3:8.2f} ms   ratio {big / small:6.2f}")
    if "overdue" in wanted:
        far, near = bench_overdue()
        print(f"overdue   1 yr {far * 1e6:8.2f} µs   1 hour         {near * 1e6:8.2f} µs   ratio {far / near:6.2f}")
    if "due" in wanted:
        month, hour = bench_due()
        print(f"due       30 d {month * 1e6:8.2f} µs   1 hour         {hour * 1e6:8.2f} µs   ratio {month / hour:6.2f}")
    if "aged" in wanted:
        with tempfile.TemporaryDirectory() as tmp:
            old, fresh = bench_aged(Path(tmp))
        print(f"aged      3 yr {old * 1e3:8.2f} ms   fresh          {fresh * 1e3:8.2f} ms   ratio {old / fresh:6.2f}")
    if "spiff" in wanted:
        pair = bench_spiff()
        if pair is None:
            print("spiff     skipped: SpiffWorkflow is not installed (pip install -e '.[bench]')")
        else:
            spiff, ours = pair
            print(f"spiff     Spiff {spiff * 1e6:7.0f} µs   ours           {ours * 1e6:8.1f} µs   ours faster {spiff / ours:6.0f}×")


if __name__ == "__main__":
    main(sys.argv[1:])
