"""Data taken is data used: what is typed for an action not taken goes nowhere.

For every action of every activity of every SOP in ``sop_definitions/``, a fresh case is walked to
that activity; its performer then fills *every* field of the form — each free-text field with a
unique marker — and presses that one action's button through the web. Afterwards:

* the history row and the case hold only the fields that action collects;
* no page anyone can open (every demo account's case page, inbox and case list, the public tracking
  page) and no log line contains the marker of a field the action does not collect;
* a unit chosen in another action's field is neither assigned nor shown.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque

import pytest
from sqlalchemy import select

from conftest import DEFINITIONS, REPORT
from runner import services
from runner.access import Actor
from runner.definition import Activity, Field, Sop
from runner.registry import Registry
from runner.store import Case, HistoryEntry, User, transaction
from web_helpers import Visitor

UNIT, OTHER_UNIT, OTHER_UNIT_NAME = "dinkes", "dpupr", "Dinas Pekerjaan Umum"
TEXT_TYPES = {"text", "textarea"}


def _value(f: Field, marker: str | None = None) -> str:
    if f.type in TEXT_TYPES:
        return marker or "isi"
    return {"select": f.options[0].value if f.options else "", "unit": UNIT, "number": str(int(f.min or 5)),
            "date": "2026-11-30", "email": "a@contoh.go.id", "tel": "081234567", "checkbox": "on",
            "file": ""}[f.type]  # a file input left empty (tests/test_attachments.py attaches files)


def _username(sop: Sop, activity: Activity) -> str:
    role = sop.role(activity.performers[0])
    assert role is not None
    return f"{role.id}.{UNIT}" if role.unit_scoped else role.id


def _paths(sop: Sop) -> dict[str, list[tuple[str, str]]]:
    """For every activity, one path of (activity, action) moves from its flow's start to it."""
    out: dict[str, list[tuple[str, str]]] = {}
    for flow in sop.flows:
        out[flow.start] = []
        queue = deque([flow.start])
        while queue:
            here = queue.popleft()
            activity = sop.activity(here)
            assert activity is not None
            for action in activity.actions:
                if sop.activity(action.to) is not None and action.to not in out:
                    out[action.to] = [*out[here], (here, action.id)]
                    queue.append(action.to)
    return out


def _cases(registry):
    for sop in registry.current():
        paths = _paths(sop)
        for activity in sop.activities:
            for action in activity.actions:
                yield pytest.param((sop.id, activity.id, action.id, paths[activity.id]),
                                   id=f"{sop.id}-{activity.no}-{action.id}")


def _open_case(factory, registry, sop: Sop, flow_id: str, n: int) -> tuple[int, str | None]:
    flow = sop.flow(flow_id)
    assert flow is not None
    with transaction(factory) as s:
        if flow.schedule:
            case = services.start_case(s, registry, sop.id, flow.id, {}, actor=None, period=f"2000-{n % 12 + 1:02d}")
        else:
            intake = {f.id: REPORT.get(f.id, _value(f)) for f in flow.intake}
            role = next(r for r in flow.started_by if (x := sop.role(r)) is not None and x.external)
            case = services.start_case(s, registry, sop.id, flow.id, intake, actor=Actor.public(role))
        return case.id, case.tracking_code


def pytest_generate_tests(metafunc):
    """One test per action of every SOP in sop_definitions/, read from the definitions themselves."""
    if "walk" in metafunc.fixturenames:
        metafunc.parametrize("walk", list(_cases(Registry.from_directory(DEFINITIONS))))


def test_untaken_actions_leave_no_trace(app, factory, registry, actor, walk, caplog):
    caplog.set_level(logging.INFO)
    sop_id, activity_id, action_id, path = walk
    sop = registry.get(sop_id)
    activity = sop.activity(activity_id)
    action = activity.action(action_id)
    case_id, code = _open_case(factory, registry, sop, activity.flow, len(path))
    for step_id, move in path:  # get there through the services, as the performers would
        step = sop.activity(step_id)
        chosen = step.action(move)
        raw = {f.id: _value(f) for f in step.fields_of(chosen)}
        with transaction(factory) as s:
            services.perform_step(s, registry, case_id, actor(_username(sop, step)), move, raw,
                                  expected_version=None)

    # The performer fills in everything on the form, then presses this one action's button.
    tag = uuid.uuid4().hex[:8]
    markers = {f.id: f"JEJAK-{f.id}-{tag}" for f in activity.fields if f.type in TEXT_TYPES}
    form = {f.id: _value(f, markers.get(f.id)) for f in activity.fields}
    form.update({f.id: OTHER_UNIT for f in activity.fields if f.type == "unit" and f.id not in action.uses})
    performer = Visitor(app)
    performer.login(_username(sop, activity))
    r = performer.submit(f"/kasus/{case_id}", form, testid="step-form", button=f"action-{action_id}")
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]

    uses = set(action.uses)
    untaken = {fid: m for fid, m in markers.items() if fid not in uses}
    with factory() as s:
        case = s.get(Case, case_id)
        last = s.scalars(select(HistoryEntry).where(HistoryEntry.case_id == case_id)
                         .order_by(HistoryEntry.seq.desc())).first()
        assert (last.activity, last.action) == (activity_id, action_id)
        assert set(last.data) <= uses, f"history holds fields {set(last.data) - uses} that {action_id} does not use"
        stored = repr(case.data) + repr(last.data)
        assert case.unit_id != OTHER_UNIT
    for fid, marker in untaken.items():
        assert marker not in stored, f"{fid}, typed for another action, was stored"

    pages, outside_dpupr = [], []
    for user in {u.username for u in seeded_users(factory)}:
        v = Visitor(app)
        v.login(user)
        for url in (f"/kasus/{case_id}", "/kotak-masuk", "/kasus?semua=1"):
            pages.append(v.get(url).get_data(as_text=True))
            if not user.endswith(f".{OTHER_UNIT}"):  # their own header names that unit, rightly
                outside_dpupr.append(pages[-1])
    if code:
        pages.append(Visitor(app).get(f"/lacak?kode={code}").get_data(as_text=True))
    shown = "\n".join(pages)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for fid, marker in untaken.items():
        assert marker not in shown, f"{fid}, typed for another action, is shown"
        assert marker not in logged, f"{fid}, typed for another action, is logged"
    if any(f.type == "unit" and f.id not in uses for f in activity.fields):
        assert OTHER_UNIT_NAME not in "\n".join(outside_dpupr)
    for fid in uses & set(markers):  # and what the action does collect is kept
        assert markers[fid] in stored


def seeded_users(factory):
    with factory() as s:
        return list(s.scalars(select(User)))
