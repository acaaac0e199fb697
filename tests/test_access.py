"""The access policy: its SQL criteria and its predicate always agree, and the engine obeys it.

Hypothesis fills a real database with random cases (of two different SOPs, at any state, of any
unit or none, open or closed) and asks, for random actors (any mix of roles, any unit or none),
every list the app shows — inbox, "for information", the case list open and all — and the case page.
Each must return exactly the cases the Python predicate allows; a case not allowed is NotFound on
the case page, exactly like a case number that does not exist. Separately, for any actor, state and
action, ``open_actions`` offers an action exactly when performing it is not refused.
"""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from conftest import DEFINITIONS, REPO
from runner import access, services
from runner.access import Actor
from runner.errors import NotAllowed, NotFound
from runner.registry import Registry
from runner.store import Case, Definition, HistoryEntry, transaction

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
UNITS = [None, "dinkes", "disdik"]


@pytest.fixture(scope="module")
def two_sops(tmp_path_factory) -> Registry:
    folder = tmp_path_factory.mktemp("defs")
    shutil.copy(DEFINITIONS / "laporisp4n.yaml", folder)
    shutil.copy(REPO / "docs" / "examples" / "permohonan_informasi.yaml", folder)
    return Registry.from_directory(folder)


def _states(sop):
    return [a.id for a in sop.activities] + [e.id for f in sop.flows for e in f.ends]


def _roles(registry):
    return sorted({r.id for sop in registry.current() for r in sop.roles})


@pytest.fixture
def published(factory, two_sops, seeded):
    with transaction(factory) as s:
        services.publish_all(s, two_sops)
        return {row.sop_id: row.id for row in s.scalars(select(Definition))
                if row.version in {sop.version for sop in two_sops.current()}}


def _cases_strategy(registry):
    sops = list(registry.current())
    case = st.sampled_from(sops).flatmap(lambda sop: st.tuples(
        st.just(sop), st.sampled_from(_states(sop)), st.sampled_from(UNITS)))
    return st.lists(case, min_size=1, max_size=12)


def _actor_strategy(registry):
    """Random roles in one unit, plus (acting officials) up to two delegated roles, each in its own unit."""
    delegated = st.lists(st.builds(lambda role, unit: access.Delegated(role, unit, "Pemegang", "plh"),
                                   st.sampled_from(_roles(registry)), st.sampled_from(UNITS)), max_size=2)
    return st.builds(lambda roles, unit, extra: Actor(99, "Acak", frozenset(roles), unit, delegated=tuple(extra)),
                     st.sets(st.sampled_from(_roles(registry)), max_size=3), st.sampled_from(UNITS), delegated)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_list_returns_exactly_what_the_predicate_allows(factory, two_sops, published, data):
    rows = data.draw(_cases_strategy(two_sops), label="cases")
    actors = data.draw(st.lists(_actor_strategy(two_sops), min_size=1, max_size=4), label="actors")
    with transaction(factory) as s:
        s.execute(delete(HistoryEntry))
        s.execute(delete(Case))
    made: list[tuple[int, object, str, str | None, bool]] = []
    with transaction(factory) as s:
        for sop, state, unit in rows:
            closed = sop.is_end(state)
            case = Case(definition_id=published[sop.id], sop_id=sop.id, flow=sop.flows[0].id, state=state,
                        unit_id=unit, tracking_code=None, title="t", data={}, period=None, created_at=NOW,
                        updated_at=NOW, due_at=None, due_advisory=False, closed_at=NOW if closed else None)
            s.add(case)
            s.flush()
            made.append((case.id, sop, state, unit, closed))

    for actor in actors:
        may_act = {cid for cid, sop, state, unit, closed in made if access.may_act(sop, state, actor, unit)}
        may_view = {cid for cid, sop, state, unit, closed in made if access.may_view(sop, state, actor, unit)}
        informed = {cid for cid, sop, state, unit, closed in made if access.is_informed(sop, state, actor, unit)}
        open_ = {cid for cid, *_, closed in made if not closed}
        with factory() as s:
            assert {r.id for r in services.waiting(s, two_sops, actor)} == may_act & open_, actor
            assert {r.id for r in services.for_information(s, two_sops, actor)} == (informed - may_act) & open_
            assert {r.id for r in services.browse(s, two_sops, actor, open_only=False, per_page=100)} == may_view
            assert {r.id for r in services.browse(s, two_sops, actor, per_page=100)} == may_view & open_
            for cid, *_ in made:
                if cid in may_view:
                    assert services.case_view(s, two_sops, cid, actor).case.id == cid
                else:
                    with pytest.raises(NotFound):
                        services.case_view(s, two_sops, cid, actor)
        assert may_act <= may_view  # whoever may act may see


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_open_actions_agree_with_performing(registry, data):
    sop = registry.get("laporisp4n")
    engine = registry.engine(sop)
    state = data.draw(st.sampled_from(_states(sop)))
    actor = data.draw(_actor_strategy(registry))
    case_unit = data.draw(st.sampled_from(UNITS))
    activity = sop.activity(state)
    actions = sorted({a.id for x in sop.activities for a in x.actions})
    action = data.draw(st.sampled_from(actions))
    offered = {a.id for a in engine.open_actions(state, case_unit, actor)}
    try:
        engine.perform(state, case_unit, actor, action, {}, NOW, {"dinkes": "Dinas Kesehatan"})
        allowed = True
    except NotAllowed:
        allowed = False
    except Exception:  # the form was refused: that check runs only once the machine let the actor act
        allowed = True
    assert allowed is (action in offered)
    if activity is not None and activity.action(action) is not None:
        assert allowed is (access.acting_role(sop, activity, actor, case_unit) is not None)
