"""Acting officials (Plt/Plh): Kabid, acting for Kadis for a week, performs step 4; the history names
both; after the week (or once revoked) Kabid cannot — through the services, the CLI and the web."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from conftest import REPORT
from runner import access, services
from runner.access import Actor, Delegated
from runner.cli import main
from runner.errors import InvalidInput, NotAllowed, NotFound
from runner.services import delegations
from runner.store import Case, Delegation, HistoryEntry, User, transaction
from web_helpers import DEMO_PASSWORD, Visitor, advance, dispose, form_with, make_app

UTC = dt.timezone.utc
START = dt.datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # Monday 08:00 in Putussibau
WEEK_END = START + dt.timedelta(days=7)
DURING = START + dt.timedelta(days=2)
AFTER = WEEK_END + dt.timedelta(hours=1)
ADMIN = Actor(999, "Admin", frozenset(), admin=True)
DISPOSE = {"opd_tujuan": "dinkes", "isi_disposisi": "Segera koordinasikan penanganannya."}


def _user(session, username):
    return session.scalar(select(User).where(User.username == username))


def actor_at(factory, username, now):
    with factory() as s:
        return services.actor_for(_user(s, username), now)


def lend(factory, registry, *, role="kadis", to="kabid", by=None, unit=None, starts=START, ends=WEEK_END,
         kind="plh", reason="Kadis cuti tahunan", now=START, **kw):
    with transaction(factory) as s:
        by = by if by is not None else services.actor_for(_user(s, "kadis"), now)
        return delegations.delegate(s, registry, by, role=role, to=to, unit_id=unit, starts_at=starts,
                                    ends_at=ends, reason=reason, kind=kind, now=now, **kw).id


@pytest.fixture
def at_step4(factory, registry, actor, seeded):
    with transaction(factory) as s:
        case_id = services.start_case(s, registry, "laporisp4n", "pengaduan", REPORT,
                                      actor=Actor.public("pelapor"), now=START).id
    advance(factory, registry, actor, case_id, 4)
    return case_id


def _waiting_ids(factory, registry, who, now):
    with factory() as s:
        return {r.id for r in services.waiting(s, registry, who, now=now)}


def test_kabid_acting_for_kadis_performs_step_4_and_history_names_both(factory, registry, at_step4):
    lend(factory, registry)
    before, during, after = (actor_at(factory, "kabid", t) for t in (START - dt.timedelta(hours=1), DURING, AFTER))
    assert during.delegated == (Delegated("kadis", None, "Kadis (demo)", "plh"),)
    assert before.delegated == () and after.delegated == ()
    # the inbox of the delegate shows the case only during the period
    assert at_step4 not in _waiting_ids(factory, registry, before, DURING)
    assert at_step4 in _waiting_ids(factory, registry, during, DURING)
    assert at_step4 not in _waiting_ids(factory, registry, after, AFTER)
    with transaction(factory) as s:  # after the week: refused
        with pytest.raises(NotAllowed):
            services.perform_step(s, registry, at_step4, after, "teruskan", DISPOSE, expected_version=None, now=AFTER)
    with transaction(factory) as s:
        services.perform_step(s, registry, at_step4, during, "teruskan", DISPOSE, expected_version=None, now=DURING)
    with factory() as s:
        entry = s.scalar(select(HistoryEntry).where(HistoryEntry.case_id == at_step4).order_by(HistoryEntry.seq.desc()))
        assert (entry.actor_name, entry.on_behalf_of, entry.role) == ("Kabid (demo)", "Kadis (demo)", "kadis")
        view = services.case_view(s, registry, at_step4, during, now=DURING)
    item = view.history[-1]
    assert (item.acting_as, item.actor_name, item.on_behalf_of) == ("Plh.", "Kabid (demo)", "Kadis (demo)")


def test_after_the_week_kabid_can_neither_act_nor_see_step_4(factory, registry, at_step4):
    lend(factory, registry)
    after = actor_at(factory, "kabid", AFTER)
    with factory() as s:
        case = s.get(Case, at_step4)
        sop = services.cases.engine_of(registry, case).sop
        assert not access.may_act(sop, case.state, after, case.unit_id)
        assert access.may_act(sop, case.state, actor_at(factory, "kabid", DURING), case.unit_id)
        assert services.cases.engine_of(registry, case).open_actions(case.state, case.unit_id, after) == ()


def test_revoke_ends_it_at_once(factory, registry, at_step4):
    number = lend(factory, registry, ends=dt.datetime(2099, 1, 1, tzinfo=UTC), starts=START)
    now = DURING
    assert actor_at(factory, "kabid", now).delegated
    with transaction(factory) as s:
        with pytest.raises(NotFound):  # someone else's delegation does not exist for them
            delegations.revoke(s, number, services.actor_for(_user(s, "kasi")), now=now)
    with transaction(factory) as s:
        delegations.revoke(s, number, services.actor_for(_user(s, "kadis")), now=now)
    assert actor_at(factory, "kabid", now + dt.timedelta(seconds=1)).delegated == ()
    assert at_step4 not in _waiting_ids(factory, registry, actor_at(factory, "kabid", now), now)
    with transaction(factory) as s:
        with pytest.raises(InvalidInput, match="already revoked"):
            delegations.revoke(s, number, None, now=now)
    with factory() as s:
        rows = delegations.list_delegations(s, registry, now=now)
    assert [(r.id, r.status) for r in rows] == [(number, "revoked")]


def test_unit_scoped_role_in_another_unit(factory, registry, actor, seeded):
    """An operator of dinkes acting as Kadis OPD of disdik: reaches disdik's verification step, and
    keeps their own dinkes reach; the history entry records disdik."""
    with transaction(factory) as s:
        case_id = services.start_case(s, registry, "laporisp4n", "pengaduan", REPORT,
                                      actor=Actor.public("pelapor"), now=START).id
    advance(factory, registry, actor, case_id, 4)
    with transaction(factory) as s:
        services.perform_step(s, registry, case_id, actor("kadis"), "teruskan",
                              {**DISPOSE, "opd_tujuan": "disdik"}, expected_version=None, now=START)
    for user, action, fields in [("operator_opd.disdik", "teruskan_ke_penghubung", {"catatan_operator": "x"}),
                                 ("pejabat_penghubung.disdik", "ajukan", {"jawaban": "Akan ditangani."})]:
        with transaction(factory) as s:
            services.perform_step(s, registry, case_id, actor(user), action, fields, expected_version=None, now=START)
    with transaction(factory) as s:
        by = services.actor_for(_user(s, "kadis_opd.disdik"), START)
    lend(factory, registry, role="kadis_opd", unit="disdik", to="operator_opd.dinkes", by=by, kind="plt")
    acting = actor_at(factory, "operator_opd.dinkes", DURING)
    assert acting.unit == "dinkes" and acting.delegated[0].unit == "disdik"
    assert case_id in _waiting_ids(factory, registry, acting, DURING)
    with transaction(factory) as s:
        services.perform_step(s, registry, case_id, acting, "setujui", {}, expected_version=None, now=DURING)
    with factory() as s:
        entry = s.scalar(select(HistoryEntry).where(HistoryEntry.case_id == case_id).order_by(HistoryEntry.seq.desc()))
        assert (entry.unit_id, entry.on_behalf_of, entry.data.get("_acting_as")) == ("disdik", "Kadis OPD/Tim Koordinasi (Dinas Pendidikan dan Kebudayaan)", "plt")


@pytest.mark.parametrize("change, message", [
    ({"ends": START}, "end after it starts"),
    ({"ends": START - dt.timedelta(days=1)}, "end after it starts"),
    ({"to": "kadis"}, "other than the holder"),
    ({"to": "nobody"}, "no account"),
    ({"role": "raja"}, "unknown role"),
    ({"role": "pelapor"}, "unknown role"),  # external roles have no accounts
    ({"role": "operator_opd", "by": ADMIN}, "belongs to one unit"),
    ({"unit": "dinkes"}, "not scoped to a unit"),
    ({"reason": "  "}, "reason"),
    ({"reason": "x" * 501}, "at most 500"),
    ({"reason": "a\x00b"}, "ordinary text"),
    ({"kind": "raja"}, "plt or plh"),
    ({"by": Actor(5, "Kasi", frozenset({"kasi"}))}, "only a holder"),
    ({"starts": START - dt.timedelta(days=30), "ends": START - dt.timedelta(days=20)}, "already be over"),
])
def test_refusals_say_what_is_wrong(factory, registry, seeded, change, message):
    with pytest.raises((InvalidInput, NotFound), match=message):
        lend(factory, registry, **change)
    with factory() as s:
        assert s.scalar(select(Delegation.id)) is None


def test_no_overlapping_delegation_of_the_same_role_to_the_same_person(factory, registry, seeded):
    lend(factory, registry)
    with pytest.raises(InvalidInput, match="already acts"):
        lend(factory, registry, starts=START + dt.timedelta(days=6), ends=START + dt.timedelta(days=9))
    lend(factory, registry, starts=WEEK_END, ends=WEEK_END + dt.timedelta(days=3))  # back to back is fine
    lend(factory, registry, to="kasi")  # another person for the same week is fine


def test_admin_delegates_a_role_nobody_holds_history_names_the_role(factory, registry, at_step4):
    with transaction(factory) as s:
        s.execute(update(User).where(User.username == "kadis").values(active=False))
    lend(factory, registry, by=ADMIN)
    during = actor_at(factory, "kabid", DURING)
    assert during.delegated[0].on_behalf_of is None
    with transaction(factory) as s:
        services.perform_step(s, registry, at_step4, during, "teruskan", DISPOSE, expected_version=None, now=DURING)
    with factory() as s:
        entry = s.scalar(select(HistoryEntry).where(HistoryEntry.case_id == at_step4).order_by(HistoryEntry.seq.desc()))
    assert entry.on_behalf_of == "Kadis"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offset=st.integers(min_value=-20 * 24, max_value=20 * 24))
def test_delegate_reaches_step_4_exactly_inside_the_period(factory, registry, seeded, offset):
    """For any moment, the delegate's actor holds Kadis exactly when start <= moment < end."""
    with transaction(factory) as s:
        if s.scalar(select(Delegation.id)) is None:
            delegations.delegate(s, registry, ADMIN, role="kadis", to="kabid", starts_at=START, ends_at=WEEK_END,
                                 reason="cuti", now=START)
    moment = START + dt.timedelta(hours=offset)
    held = actor_at(factory, "kabid", moment).holds("kadis")
    assert held == (START <= moment < WEEK_END)


def test_cli_delegate_list_and_revoke(db_url, seeded, capsys):
    base = ["--database", db_url]
    assert main(["delegate", "--role", "kadis", "--to", "kabid", "--from", "2026-12-01", "--until", "2099-12-07",
                 "--reason", "Kadis cuti", "--kind", "plt", "--by", "kadis", *base]) == 0
    assert "delegation 1: kabid acts as kadis" in capsys.readouterr().out
    assert main(["delegate", "--role", "kadis", "--to", "kabid", "--from", "2026-12-01", "--until", "2099-12-07",
                 "--reason", "again", *base]) == 1
    assert "already acts" in capsys.readouterr().err
    assert main(["delegate", "--role", "kadis", "--to", "kabid", "--from", "kemarin", "--until", "2099-12-07",
                 "--reason", "x", *base]) == 1
    assert "is not a date" in capsys.readouterr().err
    assert main(["delegate", *base]) == 2
    assert main(["delegate", "list", *base]) == 0
    out = capsys.readouterr().out
    assert "Plt. Kadis: kabid, on behalf of Kadis (demo)" in out and "active" in out
    assert main(["delegate", "revoke", "1", *base]) == 0
    assert main(["delegate", "list", *base]) == 0
    assert "no delegations" in capsys.readouterr().out
    assert main(["delegate", "list", "--all", *base]) == 0
    assert "revoked" in capsys.readouterr().out


def test_parse_time_reads_the_sop_timezone_and_a_bare_until_includes_the_day():
    assert delegations.parse_time("2026-12-01", "Asia/Pontianak") == dt.datetime(2026, 11, 30, 17, tzinfo=UTC)
    assert delegations.parse_time("2026-12-07", "Asia/Pontianak", end_of_day=True) == \
        dt.datetime(2026, 12, 7, 17, tzinfo=UTC)
    assert delegations.parse_time("2026-12-01T08:00+00:00", "Asia/Pontianak") == dt.datetime(2026, 12, 1, 8, tzinfo=UTC)
    for bad in ("", "2026-13-01", "besok", "2026-12-01T25:00"):
        with pytest.raises(InvalidInput):
            delegations.parse_time(bad, "UTC")


# -- through the web ------------------------------------------------------------------------------
@pytest.fixture
def app(db_url, seeded):
    app = make_app(db_url)
    yield app
    dispose(app)


def test_web_kabid_acting_for_kadis_for_a_week(app, factory, registry, actor, at_step4):
    now = dt.datetime.now(UTC)
    number = lend(factory, registry, starts=now - dt.timedelta(days=1), ends=now + dt.timedelta(days=6), now=now)
    with transaction(factory) as s:
        second = services.start_case(s, registry, "laporisp4n", "pengaduan", REPORT,
                                     actor=Actor.public("pelapor"), now=now).id
    advance(factory, registry, actor, second, 4)
    kabid = Visitor(app)
    kabid.login("kabid", DEMO_PASSWORD)
    assert {at_step4, second} <= kabid.inbox_ids()
    r = kabid.act(at_step4, "teruskan", DISPOSE)
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]
    kadis = Visitor(app)
    kadis.login("kadis")
    html = kadis.get(f"/kasus/{at_step4}").get_data(as_text=True)
    assert "Plh. Kadis: Kabid (demo)" in html
    assert "Kadis (demo)" in html.split("Plh. Kadis: Kabid (demo)")[1][:200]
    form = kabid.get(f"/kasus/{second}")
    assert form.status_code == 200
    assert 'data-testid="step-form"' in form.get_data(as_text=True)
    # the week passes (the stored period ends): at once step 4 leaves Kabid's inbox and form, and a
    # form kept from before is refused (Kabid still reads the case: agency staff see every case)
    with transaction(factory) as s:
        s.execute(update(Delegation).where(Delegation.id == number).values(ends_at=now - dt.timedelta(minutes=1)))
    assert second not in kabid.inbox_ids()
    later = kabid.get(f"/kasus/{second}")
    assert later.status_code == 200 and 'data-testid="step-form"' not in later.get_data(as_text=True)
    f = form_with(form.get_data(as_text=True), testid="step-form")
    name, value = f.buttons["action-teruskan"]
    assert kabid.post(f"/kasus/{second}", {**f.fields, **DISPOSE, name: value}).status_code == 403
    with factory() as s:
        assert s.get(Case, second).state == "disposisi_pimpinan"


def test_web_a_holder_lends_their_own_role_and_revokes_it(app, factory, registry, at_step4):
    kadis, kabid = Visitor(app), Visitor(app)
    kadis.login("kadis")
    kabid.login("kabid")
    assert at_step4 not in kabid.inbox_ids()
    now = dt.datetime.now(UTC)
    local = dt.timezone(dt.timedelta(hours=7))  # the LAPOR calendar's Asia/Pontianak
    starts = (now - dt.timedelta(hours=1)).astimezone(local).strftime("%Y-%m-%dT%H:%M")
    ends = (now + dt.timedelta(days=7)).astimezone(local).strftime("%Y-%m-%d")
    r = kadis.submit("/wakil/", {"role": "kadis", "to": "kabid", "starts": starts, "ends": ends,
                                 "reason": "Dinas luar", "kind": "plh"}, testid="delegate-form", follow_redirects=True)
    assert "Pelimpahan 1 disimpan" in r.get_data(as_text=True)  # the Indonesian interface
    assert at_step4 in kabid.inbox_ids()
    # kabid cannot lend Kadis further, nor revoke it
    r = kabid.submit("/wakil/", {"role": "kadis", "to": "kasi", "starts": starts, "ends": ends, "reason": "x"},
                     testid="delegate-form", follow_redirects=True)
    assert "only a holder of role" in r.get_data(as_text=True)
    with factory() as s:
        assert s.scalar(select(Delegation.id).where(Delegation.role == "kadis", Delegation.delegate_id != 2)) is None
    token = r.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    assert "Tidak disimpan" in kabid.post("/wakil/1/cabut", {"csrf_token": token},
                                     follow_redirects=True).get_data(as_text=True)
    assert at_step4 in kabid.inbox_ids()
    r = kadis.get("/wakil/")
    token = r.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    assert 'data-testid="revoke-1"' in r.get_data(as_text=True)
    kadis.post("/wakil/1/cabut", {"csrf_token": token})
    assert at_step4 not in kabid.inbox_ids()  # at once
