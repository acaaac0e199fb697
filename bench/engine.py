"""Target 1: one engine step in memory, against a bare `transitions` trigger and SpiffWorkflow.

Ours: ``Engine.perform`` of LAPOR step 4 (*Disposisi*, action *teruskan*): the access policy as the
transition's condition, the form cleaned before, the due time and escalation moment in working
time after, the finished Step returned. Baselines, measured in alternating rounds:

* ``engine-vs-transitions``: a bare ``transitions.Machine`` with the same states triggering one event
  guarded by two plain conditions (the least a `transitions`-based step can do). Limit ≤ 1.5×.
* ``engine-vs-spiff``: the same step in SpiffWorkflow 3.2 running ``bench/laporisp4n.bpmn``, the
  workflow restored from JSON before the step and serialized after it (what a stateless web request
  has to do); the ratio is how many times faster ours is. Limit ≥ 100×. Needs the ``bench`` extra.

    .venv/bin/python bench/engine.py [--quick]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from common import LAPOR, ROOT, Target, arguments, paired, report

FORM = {"opd_tujuan": "dinkes", "isi_disposisi": "Segera ditindaklanjuti"}
NOW = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.timezone.utc)


def engine_step() -> Callable[[], object]:
    from runner.definition import load_text
    from runner.engine import Actor, Engine

    engine = Engine(load_text(LAPOR.read_text(encoding="utf-8")))
    kadis = Actor(1, "k", frozenset({"kadis"}))
    units = {"dinkes": "Dinas Kesehatan"}
    return lambda: engine.perform("disposisi_pimpinan", None, kadis, "teruskan", FORM, NOW, units)


def bare_trigger() -> Callable[[], object]:
    from transitions import Machine

    from runner.definition import load_text

    sop = load_text(LAPOR.read_text(encoding="utf-8"))
    roles, units = frozenset({"kadis"}), {"dinkes": "Dinas Kesehatan"}

    class Token:
        def __init__(self) -> None:
            self.state = "disposisi_pimpinan"

    bare = Machine(model=None, states=[a.id for a in sop.activities], initial="input_laporan",
                   auto_transitions=False, send_event=True)
    bare.add_transition("go", "disposisi_pimpinan", "terima_disposisi",
                        conditions=[lambda e: "kadis" in roles, lambda e: FORM.get("opd_tujuan") in units])
    event = bare.events["go"]

    def step() -> None:
        if not event.trigger(Token()):
            raise RuntimeError("the bare trigger refused")
    return step


def spiff_step() -> Callable[[], object] | None:
    """Restore, step 4, serialize — or None without SpiffWorkflow (``pip install -e '.[bench]'``)."""
    try:
        from SpiffWorkflow.bpmn.parser import BpmnParser
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
        from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
        from SpiffWorkflow.util.task import TaskState
    except ImportError:
        return None
    parser = BpmnParser()
    parser.add_bpmn_file(str(ROOT / "bench" / "laporisp4n.bpmn"))
    workflow = BpmnWorkflow(parser.get_spec("laporisp4n"))
    workflow.do_engine_steps()
    for action in ("simpan", "valid", "sampaikan"):  # to step 4, as ours
        task = workflow.get_next_task(state=TaskState.READY, manual=True)
        task.data["action"] = action
        task.run()
        workflow.do_engine_steps()
    serializer = BpmnWorkflowSerializer()
    stored = serializer.serialize_json(workflow)

    def step() -> str:
        restored = serializer.deserialize_json(stored)
        task = restored.get_next_task(state=TaskState.READY, manual=True)
        if task.task_spec.bpmn_id != "disposisi_pimpinan":
            raise RuntimeError(task.task_spec.bpmn_id)
        task.data.update(FORM, action="teruskan")
        task.run()
        restored.do_engine_steps()
        return serializer.serialize_json(restored)
    return step


def main() -> list[Target]:
    args = arguments(__doc__)
    number, rounds = (200, 3) if args.quick else (3000, 9)
    ours = engine_step()
    ours_s, base_s, ratio = paired(ours, bare_trigger(), number, rounds)
    targets = [Target("engine-vs-transitions", ratio, 1.5,
                      figures=f"engine step {ours_s * 1e6:.1f} µs, bare trigger with 2 guards {base_s * 1e6:.1f} µs "
                              f"(median of {rounds} rounds of {number})")]
    spiff = spiff_step()
    if spiff is None:
        print("engine-vs-spiff: skipped (SpiffWorkflow not installed: pip install -e '.[bench]')")
    else:
        n = 5 if args.quick else 50
        spiff_s, ours_s2, faster = paired(spiff, lambda: [ours() for _ in range(10)], n, rounds)
        ours_s2 /= 10
        targets.append(Target("engine-vs-spiff", spiff_s / ours_s2, 100, at_most=False,
                              figures=f"SpiffWorkflow restore+step+serialize {spiff_s * 1e6:.0f} µs, ours "
                                      f"{ours_s2 * 1e6:.1f} µs (median of {rounds} rounds)"))
    return report(targets)


if __name__ == "__main__":
    main()
