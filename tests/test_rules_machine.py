"""A Hypothesis ``RuleBasedStateMachine`` acting as random users, allowed and not.

Rules: a citizen files a report; anyone (any demo account, of any role and unit) tries any action
with any form on any case, with a fresh or a stale form; anyone opens any case. The machine keeps
its own model of each case (state, version) and after every rule checks the database against it:

* an accepted step moved the case along one of its activity's actions, by exactly one version and
  one history row, and was taken by someone the access policy lets act;
* a refused one (not allowed, not found, invalid form, moved on) changed nothing;
* a case page opens exactly for those the policy lets see it;
* ``check_database`` (what ``sop check-db`` runs) finds nothing wrong.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from conftest import REPORT
from runner import access, services
from runner.access import Actor
from runner.errors import CaseMovedOn, InvalidForm, NotAllowed, NotFound
from runner.registry import Registry
from runner.store import Case, HistoryEntry, transaction

from test_walks import FORM, PEOPLE  # the same people and forms as the guided-walk property


def test_random_users_allowed_and_not(factory, registry: Registry, actor):
    sop = registry.get("laporisp4n")
    actions = sorted({a.id for x in sop.activities for a in x.actions} | {"bogus"})
    people = {p: actor(p) for p in PEOPLE}

    class Users(RuleBasedStateMachine):
        cases = Bundle("cases")

        def __init__(self) -> None:
            super().__init__()
            self.model: dict[int, tuple[str, int, str | None]] = {}  # id -> (state, version, unit)

        def _row(self, case_id: int) -> tuple[str, int, str | None, int]:
            with factory() as s:
                case = s.get(Case, case_id)
                rows = s.scalar(select(func.count()).select_from(HistoryEntry).where(HistoryEntry.case_id == case_id))
                return case.state, case.version, case.unit_id, rows

        @rule(target=cases)
        def file_report(self) -> int:
            with transaction(factory) as s:
                case = services.start_case(s, registry, "laporisp4n", "pengaduan", REPORT,
                                           actor=Actor.public("pelapor"))
                self.model[case.id] = (case.state, case.version, None)
                return case.id

        @rule(case_id=cases, who=st.sampled_from(PEOPLE), action=st.sampled_from(actions), form=FORM,
              stale=st.booleans())
        def act(self, case_id: int, who: str, action: str, form: dict[str, str], stale: bool) -> None:
            state, version, unit = self.model[case_id]
            person = people[who]
            try:
                with transaction(factory) as s:
                    services.perform_step(s, registry, case_id, person, action, form,
                                          expected_version=version - 1 if stale else version)
            except (NotAllowed, NotFound, InvalidForm, CaseMovedOn) as refused:
                assert str(refused)
                assert self._row(case_id) == (state, version, unit, version)
                if stale:
                    assert isinstance(refused, (CaseMovedOn, NotFound))
                return
            assert not stale, "a stale form acted"
            activity = sop.activity(state)
            assert activity is not None, "a finished case moved"
            chosen = activity.action(action)
            assert chosen is not None
            assert access.acting_role(sop, activity, person, unit) is not None
            new_state, new_version, new_unit, rows = self._row(case_id)
            assert (new_state, new_version, rows) == (chosen.to, version + 1, version + 1)
            self.model[case_id] = (new_state, new_version, new_unit)

        @rule(case_id=cases, data=st.data())
        def act_as_the_performer(self, case_id: int, data: st.DataObject) -> None:
            """Someone who may act takes one of the offered actions (so cases get deep into the SOP)."""
            state, _, unit = self.model[case_id]
            engine = registry.engine(sop)
            able = [(p, a.id) for p in PEOPLE for a in engine.open_actions(state, unit, people[p])]
            if able:
                who, action = data.draw(st.sampled_from(able))
                self.act(case_id, who, action, data.draw(FORM), stale=False)

        @rule(case_id=cases, who=st.sampled_from(PEOPLE))
        def look(self, case_id: int, who: str) -> None:
            state, _, unit = self.model[case_id]
            allowed = access.may_view(sop, state, people[who], unit)
            with factory() as s:
                try:
                    services.case_view(s, registry, case_id, people[who])
                    seen = True
                except NotFound:
                    seen = False
            assert seen is allowed

        @invariant()
        def the_database_tells_one_story(self) -> None:
            with factory() as s:
                assert services.check_database(s, registry) == []

    run_state_machine_as_test(Users, settings=settings(
        max_examples=25, stateful_step_count=30, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))
