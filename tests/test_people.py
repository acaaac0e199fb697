"""Units and accounts in the app (/admin/orang): an admin creates and renames units, creates,
disables and re-enables accounts, resets passwords, sets roles and lends roles (Plt/Plh); everyone
else gets a 403; hostile input gets a message, never a 500. The CLI uses the same services."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from runner import services
from runner.cli import main
from runner.errors import InvalidInput, NotFound
from runner.services import people
from runner.store import Delegation, Unit, User, transaction
from web_helpers import DEMO_PASSWORD, Visitor, csrf_token, dispose, make_app

NEW_PASSWORD = "Kapuas-Hulu-2026!"


@pytest.fixture
def app(db_url, seeded):
    app = make_app(db_url)
    yield app
    dispose(app)


@pytest.fixture
def admin(app):
    """An admin reading the English interface: the assertions quote its English messages."""
    v = Visitor(app)
    v.login("admin_sop")
    with v.client.session_transaction() as session:
        session["lang"] = "en"
    return v


def _user(factory, username):
    with factory() as s:
        user = s.scalar(select(User).where(User.username == username))
        if user is not None:
            s.expunge(user)
        return user


def _text(r) -> str:
    return r.get_data(as_text=True)


def test_non_admins_get_403_and_the_signed_out_the_login(app):
    kadis = Visitor(app)
    kadis.login("kadis")
    token = csrf_token(_text(kadis.get("/kotak-masuk")))
    assert kadis.get("/admin/orang/").status_code == 403
    assert kadis.get("/admin/orang/akun/kabid").status_code == 403
    r = kadis.post("/admin/orang/akun/kabid/aktif", {"csrf_token": token, "active": "0"})
    assert r.status_code == 403
    assert kadis.post("/admin/orang/unit", {"csrf_token": token, "unit_id": "x", "name": "X"}).status_code == 403
    anon = Visitor(app)
    r = anon.get("/admin/orang/")
    assert r.status_code == 302 and "/masuk" in r.headers["Location"]


def test_overview_shows_holders_and_who_acts_for_whom(admin, factory, registry):
    html = _text(admin.get("/admin/orang/"))
    assert 'data-role="kadis"' in html and "Kadis (demo)" in html
    assert 'data-role="operator_opd" data-unit="dinkes"' in html
    r = admin.submit("/admin/orang/", {"role": "kadis", "to": "kabid", "starts": "2026-12-01T08:00",
                                        "ends": "2099-12-07", "reason": "Kadis cuti", "kind": "plh"},
                     testid="delegate-form", follow_redirects=True)
    html = _text(r)
    assert r.status_code == 200 and "Delegation 1" in html
    row = html.split('data-role="kadis"')[1].split("</tr>")[0]
    assert "Plh. Kadis: Kabid (demo)" in row
    with factory() as s:
        d = s.scalar(select(Delegation))
        assert (d.role, d.kind, d.created_by, d.holder_id is not None) == ("kadis", "plh", "admin_sop", True)
    # refused: a message on the page, nothing saved
    r = admin.submit("/admin/orang/", {"role": "kadis", "to": "kabid", "starts": "2026-12-01T08:00",
                                        "ends": "2099-12-07", "reason": "lagi"}, testid="delegate-form",
                     follow_redirects=True)
    assert "already acts" in _text(r)
    r = admin.submit("/admin/orang/", {"role": "kadis", "to": "kabid", "starts": "besok", "ends": "2099-12-07",
                                        "reason": "x"}, testid="delegate-form", follow_redirects=True)
    assert r.status_code == 200 and "is not a date" in _text(r)
    page = admin.get("/admin/orang/")
    r = admin.post("/admin/orang/delegasi/1/cabut", {"csrf_token": csrf_token(_text(page))}, follow_redirects=True)
    assert "revoked" in _text(r)
    with factory() as s:
        assert s.scalar(select(Delegation)).revoked_at is not None


def test_create_and_rename_a_unit(admin, factory):
    r = admin.submit("/admin/orang/", {"unit_id": "dinsos", "name": "Dinas Sosial"}, testid="new-unit",
                     follow_redirects=True)
    assert "Dinas Sosial" in _text(r)
    r = admin.submit("/admin/orang/", {"unit_id": "dinsos", "name": "Lagi"}, testid="new-unit", follow_redirects=True)
    assert "already exists" in _text(r)
    page = admin.get("/admin/orang/")
    r = admin.post("/admin/orang/unit/dinsos", {"csrf_token": csrf_token(_text(page)), "name": "Dinas Sosial P3A"},
                   follow_redirects=True)
    assert "Dinas Sosial P3A" in _text(r)
    with factory() as s:
        assert s.get(Unit, "dinsos").name == "Dinas Sosial P3A"
    r = admin.post("/admin/orang/unit/tidak-ada", {"csrf_token": csrf_token(_text(page)), "name": "X"},
                   follow_redirects=True)
    assert r.status_code == 200 and "no unit" in _text(r)


def test_create_account_disable_ends_its_session_enable_reset_password_and_roles(app, admin, factory):
    r = admin.submit("/admin/orang/", {"username": "op.dinsos", "full_name": "Siti Aminah", "password": NEW_PASSWORD,
                                        "role": "operator_opd", "unit_id": "dinkes"}, testid="new-account")
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/orang/akun/op.dinsos")
    assert _user(factory, "op.dinsos").role_ids == {"operator_opd"}
    siti = Visitor(app)
    siti.login("op.dinsos", NEW_PASSWORD)
    assert siti.get("/kotak-masuk").status_code == 200
    # disable: her session ends at once, and she cannot sign in
    r = admin.submit("/admin/orang/akun/op.dinsos", {}, control="active", follow_redirects=True)
    assert "sessions are ended" in _text(r)
    assert siti.get("/kotak-masuk").status_code == 302
    assert Visitor(app).post("/masuk", {"username": "op.dinsos", "password": NEW_PASSWORD}).status_code != 302
    # enable again
    admin.submit("/admin/orang/akun/op.dinsos", {}, control="active")
    assert _user(factory, "op.dinsos").active
    siti.login("op.dinsos", NEW_PASSWORD)
    # reset password: a weak one is refused; a generated one is shown once and works; sessions end
    r = admin.submit("/admin/orang/akun/op.dinsos", {"password": "password1"}, testid="password-form",
                     follow_redirects=True)
    assert "Not saved" in _text(r)
    page = admin.get("/admin/orang/akun/op.dinsos")
    r = admin.post("/admin/orang/akun/op.dinsos/sandi", {"csrf_token": csrf_token(_text(page)), "generate": "1"})
    assert r.status_code == 200
    html = _text(r)
    generated = html.split('data-testid="generated-password"')[1].split("<code>")[1].split("</code>")[0]
    assert len(generated) == 16
    assert generated not in _text(admin.get("/admin/orang/akun/op.dinsos"))  # shown once
    assert siti.get("/kotak-masuk").status_code == 302
    Visitor(app).login("op.dinsos", generated)
    # several roles: refused without the unit a scoped role needs, saved with it
    r = admin.submit("/admin/orang/akun/op.dinsos", {"role": ["operator_opd", "pejabat_penghubung"], "unit_id": ""},
                     testid="roles-form", follow_redirects=True)
    assert "belong to one unit" in _text(r)
    r = admin.submit("/admin/orang/akun/op.dinsos", {"role": ["operator_opd", "pejabat_penghubung"],
                                                      "unit_id": "disdik"}, testid="roles-form", follow_redirects=True)
    assert "saved" in _text(r)
    user = _user(factory, "op.dinsos")
    assert (user.role_ids, user.unit_id) == ({"operator_opd", "pejabat_penghubung"}, "disdik")


def test_an_admin_cannot_disable_their_own_account(admin, factory):
    page = admin.get("/admin/orang/akun/admin_sop")
    r = admin.post("/admin/orang/akun/admin_sop/aktif", {"csrf_token": csrf_token(_text(page)), "active": "0"},
                   follow_redirects=True)
    assert "your own account" in _text(r) and _user(factory, "admin_sop").active


def test_posts_without_csrf_change_nothing(admin, factory):
    r = admin.post("/admin/orang/akun/kabid/aktif", {"active": "0"})
    assert r.status_code == 400 and _user(factory, "kabid").active
    assert admin.post("/admin/orang/unit", {"unit_id": "x", "name": "X"}).status_code == 400


def test_unknown_account_page_is_404(admin):
    assert admin.get("/admin/orang/akun/tidak.ada").status_code == 404


HOSTILE = st.one_of(st.text(max_size=80), st.sampled_from(["\x00", "a" * 5000, "<script>alert(1)</script>",
                                                            "' OR 1=1 --", "../../etc/passwd", " ", "dinkes"]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(unit_id=HOSTILE, name=HOSTILE, username=HOSTILE, role=HOSTILE, when=HOSTILE)
def test_hostile_input_never_gives_a_500(admin, unit_id, name, username, role, when):
    token = csrf_token(_text(admin.get("/admin/orang/")))
    posts = [
        ("/admin/orang/unit", {"unit_id": unit_id, "name": name}),
        ("/admin/orang/akun", {"username": username, "password": name, "role": role, "unit_id": unit_id,
                               "full_name": name}),
        ("/admin/orang/delegasi", {"role": role, "to": username, "unit_id": unit_id, "starts": when,
                                   "ends": when, "reason": name, "kind": name, "holder": username}),
        ("/wakil/", {"role": role, "to": username, "starts": when, "ends": when, "reason": name, "kind": name}),
        (f"/admin/orang/akun/{username}/peran".replace("\x00", ""), {"role": role, "unit_id": unit_id}),
        (f"/admin/orang/akun/{username}/sandi".replace("\x00", ""), {"password": name}),
    ]
    for url, data in posts:
        r = admin.post(url, {**data, "csrf_token": token})
        assert r.status_code in (302, 400, 404, 405), (url, r.status_code)
    for path in (f"/admin/orang/akun/{username}", f"/admin/orang/unit/{unit_id}"):
        if "\x00" in path or not path.strip("/"):
            continue
        r = admin.post(path + ("/aktif" if "akun" in path else ""), {"csrf_token": token, "active": "1",
                                                                     "name": name})
        assert r.status_code in (302, 400, 404, 405), (path, r.status_code)


# -- the services (what the CLI calls) ------------------------------------------------------------
def test_services_refuse_with_clear_messages(factory, registry, seeded):
    with transaction(factory) as s:
        for bad_id, message in (("", "unit id"), ("Dinas Kesehatan", "unit id"), ("dinkes", "already exists")):
            with pytest.raises(InvalidInput, match=message):
                people.create_unit(s, bad_id, "X")
        with pytest.raises(InvalidInput, match="name"):
            people.create_unit(s, "baru", "   ")
        with pytest.raises(NotFound):
            people.set_roles(s, registry, "tidak.ada", ["kasi"])
        with pytest.raises(InvalidInput, match="unknown role"):
            people.set_roles(s, registry, "kabid", ["raja"])
        with pytest.raises(InvalidInput, match="not scoped"):
            people.set_roles(s, registry, "kabid", ["kabid"], "dinkes")
        with pytest.raises(InvalidInput, match="at least"):
            people.reset_password(s, "kabid", "pendek")
    assert len(people.generate_password()) == 16


def test_cli_user_roles_and_password(db_url, seeded, factory, monkeypatch, capsys):
    base = ["--database", db_url]
    assert main(["user", "roles", "kasi", "--role", "kasi", "--role", "kabid", *base]) == 0
    assert _user(factory, "kasi").role_ids == {"kasi", "kabid"}
    assert main(["user", "roles", "kasi", "--role", "operator_opd", *base]) == 1
    assert "belong to one unit" in capsys.readouterr().err
    monkeypatch.setenv("SOP_NEW_PASSWORD", NEW_PASSWORD)
    assert main(["user", "password", "kasi", *base]) == 0
    with factory() as s:
        assert services.authenticate(s, "kasi", NEW_PASSWORD) is not None
    assert main(["user", "password", "kasi", "--generate", *base]) == 0
    generated = capsys.readouterr().out.strip().split()[-1]
    with factory() as s:
        assert services.authenticate(s, "kasi", generated) is not None
        assert services.authenticate(s, "kasi", DEMO_PASSWORD) is None


def test_one_person_holds_roles_each_in_its_own_unit(app, admin, factory, registry):
    """Kasi keeps their agency role and also serves Dinkes as its OPD operator and Disdik as its
    liaison (roles held in units of their own: ``role@unit``); the access policy reaches exactly those."""
    from runner import access
    from runner.services.accounts import actor_for
    from runner.services.publishing import current_sops

    r = admin.submit("/admin/orang/akun/kasi", {"role": ["kasi", "operator_opd", "pejabat_penghubung"],
                                                 "unit_for.operator_opd": "dinkes",
                                                 "unit_for.pejabat_penghubung": "disdik", "unit_id": ""},
                     testid="roles-form", follow_redirects=True)
    assert "saved" in _text(r)
    page = _text(admin.get("/admin/orang/akun/kasi"))
    assert 'name="unit_for.operator_opd"' in page and '<option value="dinkes" selected>' in page
    overview = _text(admin.get("/admin/orang/"))
    assert "operator_opd@dinkes" in overview and "pejabat_penghubung@disdik" in overview
    with factory() as s:
        user = s.scalar(select(User).where(User.username == "kasi"))
        assert user.role_units == (("operator_opd", "dinkes"), ("pejabat_penghubung", "disdik"))
        actor = actor_for(user)
        sop = current_sops(s, registry)["laporisp4n"]
    by_role = {rid: next(a for a in sop.activities if a.performers == (rid,))
               for rid in ("operator_opd", "pejabat_penghubung")}
    assert access.acting_role(sop, by_role["operator_opd"], actor, "dinkes") == "operator_opd"
    assert access.acting_role(sop, by_role["operator_opd"], actor, "disdik") is None
    assert access.acting_role(sop, by_role["pejabat_penghubung"], actor, "disdik") == "pejabat_penghubung"
    assert access.acting_role(sop, by_role["pejabat_penghubung"], actor, "dinkes") is None
    assert access.view_scope(sop, actor).everywhere  # kasi is agency staff: sees every case anyway


def test_roles_in_their_own_units_are_checked(factory, registry, seeded):
    with transaction(factory) as s:
        with pytest.raises(InvalidInput, match="not scoped to a unit"):
            people.set_roles(s, registry, "kabid", ["kabid@dinkes"])
        with pytest.raises(NotFound, match="no unit 'mars'"):
            people.set_roles(s, registry, "kabid", ["operator_opd@mars"])
        with pytest.raises(InvalidInput, match="twice"):
            people.set_roles(s, registry, "kabid", ["operator_opd@dinkes", "operator_opd@disdik"])
        user = people.set_roles(s, registry, "kabid", ["kabid", "operator_opd@dinkes"])  # no account unit needed
        assert (user.unit_id, user.role_units) == (None, (("operator_opd", "dinkes"),))


def test_cli_gives_a_role_in_its_own_unit(db_url, seeded, factory, capsys):
    base = ["--database", db_url]
    assert main(["user", "roles", "kasi", "--role", "kasi", "--role", "operator_opd@disdik", *base]) == 0
    assert _user(factory, "kasi").role_ids == {"kasi", "operator_opd"}
    with factory() as s:
        assert s.scalar(select(User).where(User.username == "kasi")).role_units == (("operator_opd", "disdik"),)
