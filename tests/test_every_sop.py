"""Every definition in sop_definitions/, whatever it is: it validates strictly, every way through it
(``runner.paths``) walks to its end through the real services, its public forms render and a
submission is trackable, every role has a demo account, and `sop demo --cases` fills every flow.
A new SOP dropped into the folder is covered by these tests without writing any."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import DEFINITIONS
from runner import services
from runner.access import Actor, public_role
from runner.cli import main
from runner.definition import display, load_file
from runner.definition.model import Flow, Sop
from runner.paths import flow_paths
from runner.services import demo
from runner.services.demo_cases import seed_cases
from runner.simulate import sample_value
from runner.store import Case, User, transaction
from web_helpers import DEMO_PASSWORD, Visitor, text_of

SOP_FILES = sorted(Path(DEFINITIONS).glob("*.yaml"))
IDS = [p.stem for p in SOP_FILES]


def test_the_folder_holds_more_than_one_sop():
    assert len(SOP_FILES) >= 2, SOP_FILES


@pytest.mark.parametrize("path", SOP_FILES, ids=IDS)
def test_validates_strictly(path, capsys):
    assert main(["validate", "--strict", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: OK\n"  # not one warning


def _walks(path: Path) -> list[tuple[Flow, tuple[str, ...]]]:
    sop = load_file(path)
    return [(flow, p) for flow in sop.case_flows for p in flow_paths(sop, flow)]


def _form(fields, needed: set[str], units: list[str], today) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in fields:
        if f.type == "unit":
            if f.id in needed:
                out[f.id] = units[0]
        elif f.required or f.id in needed:
            out[f.id] = str(sample_value(f, today))
    return out


def _demo_actor(session, role_id: str, unit: str | None) -> Actor:
    for username in ([f"{role_id}.{unit}"] if unit else []) + [role_id]:
        user = session.scalar(select(User).where(User.username == username))
        if user is not None:
            return services.actor_for(user)
    raise AssertionError(f"no demo account for role {role_id} (unit {unit})")


def _end_of(sop: Sop, flow: Flow, path: tuple[str, ...]) -> str:
    state = flow.start
    for action_id in path:
        state = sop.activity(state).action(action_id).to
    return state


@pytest.mark.parametrize("path", SOP_FILES, ids=IDS)
def test_every_path_walks_to_its_end_through_the_services(path, factory, registry):
    """Each case is started by the flow's first starter and every step is performed by the demo
    account of a performer role, with only the values the step must have: the services accept each
    move, the case is closed at the path's end, and the public tracking page shows that end."""
    sop = registry.get(load_file(path).id)
    walks = _walks(path)
    assert walks, f"{path.name} has no flow a case can follow"
    # every action of every case flow is taken by at least one walk, and every end is reached
    taken = {(flow.id, a) for flow, p in walks for a in p}
    for activity in sop.activities:
        if sop.flow(activity.flow).schedule is None:
            assert {(activity.flow, a.id) for a in activity.actions} <= taken, activity.id
    ends = {_end_of(sop, flow, p) for flow, p in walks}
    assert ends == {e.id for f in sop.case_flows for e in f.ends}
    with transaction(factory) as s:
        services.publish_all(s, registry)
        demo.seed(s, registry)
    units = [u for u, _ in demo.DEMO_UNITS]
    for flow, walk in walks:
        with transaction(factory) as s:
            starter_id = flow.started_by[0]
            starter = Actor.public(starter_id) if sop.role(starter_id).external else _demo_actor(s, starter_id, None)
            today = dt.date.today()
            case = services.start_case(s, registry, sop.id, flow.id, _form(flow.intake, set(), units, today),
                                       actor=starter)
            for action_id in walk:
                activity = sop.activity(case.state)
                action = activity.action(action_id)
                actor = _demo_actor(s, activity.performers[0], case.unit_id)
                needed = set(action.requires) | ({action.assign_unit} if action.assign_unit else set())
                raw = _form(activity.fields_of(action), needed, units, today)
                case = services.perform_step(s, registry, case.id, actor, action_id, raw, expected_version=None)
            end = _end_of(sop, flow, walk)
            assert (case.state, case.closed_at is not None) == (end, True), (flow.id, walk)
            view = services.track(s, registry, case.tracking_code)
            expected = sop.end(end)
            assert display(view.status) == display(expected.public_status or expected.name)


def _public_flows(path: Path) -> list[Flow]:
    sop = load_file(path)
    return [f for f in sop.case_flows if public_role(sop, f) is not None]


@pytest.mark.parametrize("path", SOP_FILES, ids=IDS)
def test_public_forms_render_and_a_submission_is_trackable(path, app):
    sop = load_file(path)
    flows = _public_flows(path)
    assert flows, f"{path.name}: no flow a citizen can start"
    visitor = Visitor(app)
    home = visitor.get("/").get_data(as_text=True)
    assert f'data-testid="submit-{sop.id}"' in home
    for flow in flows:
        url = f"/lapor/{sop.id}/{flow.id}"
        assert f'href="{url}"' in home  # every public form is linked from the home page
        page = visitor.get(url)
        assert page.status_code == 200, url
        html = page.get_data(as_text=True)
        for f in flow.intake:
            assert re.search(rf'name="{f.id}"', html), (url, f.id)
        values = {f.id: str(f.examples[0]) if f.examples else str(sample_value(f, dt.date.today())) for f in flow.intake
                  if f.required and f.type != "checkbox"}
        r = visitor.submit(url, values, control="nonce")
        assert r.status_code == 302, (url, r.get_data(as_text=True)[:2000])
        code = text_of(visitor.get(r.headers["Location"]).get_data(as_text=True), "tracking-code")
        track = visitor.get(f"/lacak?kode={code}").get_data(as_text=True)
        first = sop.activity(flow.start)
        assert text_of(track, "status") == (display(first.public_status) or "Laporan Anda sedang diproses")
        for f in flow.intake:  # the reporter's identity is never on the tracking page
            if f.identifies and values.get(f.id):
                assert values[f.id] not in track, f.id


@pytest.mark.parametrize("path", SOP_FILES, ids=IDS)
def test_every_role_has_a_demo_account_that_can_log_in(path, factory, registry):
    sop = load_file(path)
    with transaction(factory) as s:
        services.publish_all(s, registry)
        accounts = demo.seed(s, registry)
    names = {a.username for a in accounts}
    with transaction(factory) as s:
        for role in sop.roles:
            if role.external:
                assert not any(n.split(".")[0] == role.id for n in names), role.id
                continue
            expected = [f"{role.id}.{u}" for u, _ in demo.DEMO_UNITS] if role.unit_scoped else [role.id]
            for username in expected:
                assert username in names
                user = services.authenticate(s, username, DEMO_PASSWORD)
                assert user is not None and role.id in user.role_ids, username


def test_demo_cases_fill_every_state_of_every_flow(factory, registry):
    with transaction(factory) as s:
        services.publish_all(s, registry)
        demo.seed(s, registry)
        made = seed_cases(s, registry)
    with transaction(factory) as s:
        assert seed_cases(s, registry) == []  # a second demo start adds nothing
        states = {(c.sop_id, c.flow, c.state) for c in s.scalars(select(Case))}
        titles = {c.id: c.title for c in s.scalars(select(Case))}
    assert {(c.sop, c.flow, c.state) for c in made} <= states
    for sop in registry.current():
        for flow in sop.case_flows:
            for a in sop.activities:
                if a.flow == flow.id:
                    assert (sop.id, flow.id, a.id) in states, (sop.id, a.id)
            for e in flow.ends:
                assert (sop.id, flow.id, e.id) in states, (sop.id, e.id)
            # the cases are named from the title field's examples, not placeholders
            title = next((f for f in flow.intake if f.id == flow.title_field), None)
            if title is not None and title.examples:
                mine = {titles[c.case_id] for c in made if (c.sop, c.flow) == (sop.id, flow.id)}
                assert mine == {str(x) for x in title.examples}, (sop.id, flow.id, mine)
