"""The JSON API (/api/v1): tokens (hashed at rest, revoked or expired → 401), the public report and
tracking endpoints, a case walked to its end by staff through the API, the access policy (another
unit's case is a 404), a stale version (409), form errors (422), problem+json for every error, the
pages' shared rate limits, no session cookie, no internal text in public answers, and the CLI and
account page for tokens."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from runner import cli
from runner.services import tokens
from runner.store import ApiToken, transaction
from web_helpers import ANSWER, STEPS, Visitor, case_id_for_code, csrf_token, dispose, make_app

REPORT = {"judul": "Jalan berlubang di Putussibau", "isi_laporan": "Lubang besar di depan pasar.",
          "nama_pelapor": "Budi Rahasia", "kontak_pelapor": "0812345678"}
SUBMIT = "/api/v1/sops/laporisp4n/flows/pengaduan/reports"
PROBLEM = "application/problem+json"


@pytest.fixture
def token_of(factory, seeded):
    """token_of('kadis') -> a new API token's secret for that demo account (one per username)."""
    made: dict[str, str] = {}

    def get(username: str) -> str:
        if username not in made:
            with transaction(factory) as s:
                made[username] = tokens.create_token(s, username, "test").secret
        return made[username]

    return get


@pytest.fixture
def client(app):
    return app.test_client()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def assert_problem(r, status: int, kind: str | None = None) -> dict:
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:500])
    assert r.content_type == PROBLEM, r.content_type
    body = r.get_json(force=True)
    assert body["status"] == status and body["title"] and body["detail"] and body["type"]
    if kind is not None:
        assert body["type"] == f"urn:sop-runner:problem:{kind}", body
    return body


def file_report(client, **extra) -> str:
    r = client.post(SUBMIT, json={"fields": REPORT, **extra})
    assert r.status_code == 201, r.get_data(as_text=True)
    assert r.headers["Location"] == r.get_json()["track_url"]
    return r.get_json()["tracking_code"]


# -- tokens ------------------------------------------------------------------------------------------
def test_tokens_are_stored_hashed_and_shown_once(factory, seeded):
    with transaction(factory) as s:
        made = tokens.create_token(s, "kadis", "laporan-bot")
    assert made.secret.startswith("sop_") and len(made.secret) == 47
    with factory() as s:
        row = s.scalar(select(ApiToken).where(ApiToken.id == made.info.id))
        assert row is not None
        stored = [str(getattr(row, c.key)) for c in ApiToken.__table__.columns]
    assert made.secret not in " ".join(stored)  # neither the secret nor any long part of it
    assert row.token_hash == tokens.hash_token(made.secret) and row.prefix == made.secret[:12]
    with factory() as s:
        listed = tokens.list_tokens(s, "kadis")
    assert [t.id for t in listed] == [made.info.id] and not hasattr(listed[0], "secret")


def test_token_names_and_expiry_are_checked(factory, seeded):
    now = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    assert tokens.parse_expiry("2026-12-31", now) == dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)
    assert tokens.parse_expiry("", now) is None
    for bad in ("2026-11-30", "besok", "2026-13-01"):
        with pytest.raises(tokens.InvalidInput):
            tokens.parse_expiry(bad, now)
    with transaction(factory) as s:
        for name in ("", "   ", "x" * 101, "bot\x00"):
            with pytest.raises(tokens.InvalidInput):
                tokens.create_token(s, "kadis", name)
        with pytest.raises(tokens.NotFound):
            tokens.create_token(s, "nobody", "bot")


def test_a_revoked_expired_or_unknown_token_is_401(client, factory, token_of):
    secret = token_of("admin_utama")
    assert client.get("/api/v1/tasks", headers=bearer(secret)).status_code == 200
    with factory() as s:
        row = s.scalar(select(ApiToken).where(ApiToken.token_hash == tokens.hash_token(secret)))
        assert row is not None and row.last_used_at is not None  # recorded
        token_id = row.id
    with transaction(factory) as s:
        tokens.revoke_token(s, token_id)
    for headers in (bearer(secret), bearer("sop_" + "A" * 43), bearer("nonsense"), {"Authorization": "Basic eDp5"}):
        r = client.get("/api/v1/tasks", headers=headers)
        assert_problem(r, 401, "unauthorized")
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        # a bad token is refused on the public endpoints too: a client never silently acts as a stranger
        assert_problem(client.get("/api/v1/sops", headers=headers), 401, "unauthorized")
    with transaction(factory) as s:
        expired = tokens.create_token(s, "admin_utama", "old", now=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc),
                                      expires_at=dt.datetime(2020, 2, 1, tzinfo=dt.timezone.utc))
    assert_problem(client.get("/api/v1/tasks", headers=bearer(expired.secret)), 401, "unauthorized")


def test_a_disabled_account_s_tokens_stop_working(client, factory, token_of):
    from runner.services import set_active

    secret = token_of("kadis")
    assert client.get("/api/v1/tasks", headers=bearer(secret)).status_code == 200
    with transaction(factory) as s:
        set_active(s, "kadis", False)
    assert_problem(client.get("/api/v1/tasks", headers=bearer(secret)), 401)


def test_endpoints_for_staff_need_a_token_and_never_take_the_session_cookie(app, staff, client):
    assert_problem(client.get("/api/v1/tasks"), 401, "unauthorized")
    assert_problem(client.get("/api/v1/cases/1"), 401, "unauthorized")
    signed_in = staff("admin_utama")  # a browser with a valid session cookie
    assert_problem(signed_in.get("/api/v1/tasks"), 401, "unauthorized")
    assert_problem(signed_in.client.post("/api/v1/cases/1/actions/simpan", json={"version": 1}), 401)


# -- the walk ----------------------------------------------------------------------------------------
def test_submit_track_and_staff_act_through_the_api(client, factory, token_of):
    code = file_report(client)
    case_id = case_id_for_code(factory, code)
    r = client.get(f"/api/v1/track/{code}")
    assert r.status_code == 200 and r.get_json()["finished"] is False
    first = token_of("admin_utama")
    tasks = client.get("/api/v1/tasks", headers=bearer(first)).get_json()["tasks"]
    assert case_id in [t["id"] for t in tasks]
    for no, user, action, fields in STEPS:
        headers = bearer(token_of(user))
        view = client.get(f"/api/v1/cases/{case_id}?lang=en", headers=headers)
        assert view.status_code == 200, (no, view.get_data(as_text=True)[:300])
        body = view.get_json()
        assert body["step"]["no"] == no and action in [a["id"] for a in body["actions"]], (no, body["actions"])
        # the page's form starts from the case's values (step 8 sends step 6's answer on)
        sent = {**{k: v for k, v in body["initial"].items() if v not in (None, "")}, **fields}
        r = client.post(f"/api/v1/cases/{case_id}/actions/{action}", headers=headers,
                        json={"version": body["version"], "fields": sent})
        assert r.status_code == 200, (no, r.get_data(as_text=True)[:500])
        assert r.get_json()["version"] == body["version"] + 1
    r = client.get(f"/api/v1/track/{code}?lang=en")
    public = r.get_json()
    assert public["finished"] is True and public["closed_at"]
    assert ANSWER in [a["value"] for a in public["answers"]]
    # nothing internal reaches the public answer: notes, dispositions, the reporter, activity names
    text = r.get_data(as_text=True)
    for internal in ("Laporan lengkap.", "Segera koordinasikan", "Akan ditambal minggu ini.", "Disetujui.",
                     "Budi Rahasia", "0812345678", "Lubang besar", "catatan", "disposisi", "verifikasi_laporan"):
        assert internal not in text, internal


def test_the_case_shows_what_its_page_shows_and_others_get_404(client, factory, token_of, registry, actor):
    from web_helpers import advance

    code = file_report(client, anonymous=True)
    case_id = case_id_for_code(factory, code)
    advance(factory, registry, actor, case_id, 5)  # now at the operator of dinkes
    ours = client.get(f"/api/v1/cases/{case_id}", headers=bearer(token_of("operator_opd.dinkes")))
    assert ours.status_code == 200
    body = ours.get_json()
    assert body["privacy"]["anonymous"] is True
    shown = {v["field"]: v["value"] for v in body["data"]}
    assert shown["nama_pelapor"] == "•••" and "Budi Rahasia" not in ours.get_data(as_text=True)
    # another unit's operator: the same 404 problem as a case that does not exist
    theirs = client.get(f"/api/v1/cases/{case_id}", headers=bearer(token_of("operator_opd.disdik")))
    missing = client.get("/api/v1/cases/999999", headers=bearer(token_of("operator_opd.disdik")))
    assert assert_problem(theirs, 404, "not-found") == assert_problem(missing, 404, "not-found")
    acted = client.post(f"/api/v1/cases/{case_id}/actions/teruskan_ke_penghubung",
                        headers=bearer(token_of("operator_opd.disdik")), json={"version": body["version"]})
    assert_problem(acted, 404, "not-found")
    # the admin who registers reports sees the identity (sees_identity)
    admin = client.get(f"/api/v1/cases/{case_id}", headers=bearer(token_of("admin_utama"))).get_json()
    assert {v["field"]: v["value"] for v in admin["data"]}["nama_pelapor"] == "Budi Rahasia"


def test_a_stale_version_is_409_and_saves_nothing(client, factory, token_of):
    from web_helpers import history_count

    case_id = case_id_for_code(factory, file_report(client))
    headers = bearer(token_of("admin_utama"))
    version = client.get(f"/api/v1/cases/{case_id}", headers=headers).get_json()["version"]
    fields = STEPS[0][3]
    assert client.post(f"/api/v1/cases/{case_id}/actions/simpan", headers=headers,
                       json={"version": version, "fields": fields}).status_code == 200
    before = history_count(factory, case_id)
    r = client.post(f"/api/v1/cases/{case_id}/actions/valid", headers=headers,
                    json={"version": version, "fields": {"catatan_verifikasi": "x"}})
    assert_problem(r, 409, "case-moved-on")
    assert history_count(factory, case_id) == before


def test_form_errors_are_422_with_the_fields(client, factory, token_of):
    r = client.post(SUBMIT, json={"fields": {"judul": "x" * 151}})
    body = assert_problem(r, 422, "invalid-form")
    assert set(body["errors"]) >= {"judul", "isi_laporan", "nama_pelapor"}
    assert body["errors"]["judul"][0]["code"] == "too_long" and body["errors"]["judul"][0]["params"] == {"max": 150}
    body = assert_problem(client.post(SUBMIT, json={"fields": REPORT, "extra": 1}), 422, "invalid-request")
    assert "json.extra" in body["errors"]
    body = assert_problem(client.post(SUBMIT, json={"fields": {**REPORT, "judul": {"a": 1}}}), 422, "invalid-request")
    assert "fields.judul" in body["errors"]
    assert_problem(client.post(SUBMIT, json={"fields": {**REPORT, "_anonim": True}}), 422, "invalid-request")
    r = client.post(SUBMIT, data="{not json", content_type="application/json")
    assert_problem(r, 400)
    case_id = case_id_for_code(factory, file_report(client))
    headers = bearer(token_of("admin_utama"))
    assert_problem(client.post(f"/api/v1/cases/{case_id}/actions/simpan", headers=headers, json={}), 422,
                   "invalid-request")  # no version
    version = client.get(f"/api/v1/cases/{case_id}", headers=headers).get_json()["version"]
    r = client.post(f"/api/v1/cases/{case_id}/actions/simpan", headers=headers,
                    json={"version": version, "fields": {"kanal": "merpati"}})
    assert "kanal" in assert_problem(r, 422, "invalid-form")["errors"]
    r = client.post(f"/api/v1/cases/{case_id}/actions/teruskan", headers=bearer(token_of("kadis")),
                    json={"version": version})
    assert_problem(r, 403, "not-allowed")  # kadis sees the case but it is not their step


def test_resending_with_the_same_idempotency_key_files_one_report(client, factory):
    from web_helpers import case_count

    before = case_count(factory)
    codes = {file_report(client, idempotency_key="k" * 20) for _ in range(3)}
    assert len(codes) == 1 and case_count(factory) == before + 1


def test_sops_list_public_flows_and_with_a_token_startable_ones(client, token_of):
    public = client.get("/api/v1/sops?lang=en").get_json()["sops"]
    flows = {(s["id"], f["id"]): f for s in public for f in s["flows"]}
    assert ("laporisp4n", "pengaduan") in flows and all(f["public"] for f in flows.values())
    assert "judul" in [f["id"] for f in flows[("laporisp4n", "pengaduan")]["fields"]]
    assert all(not f["startable"] for f in flows.values())
    staff = client.get("/api/v1/sops", headers=bearer(token_of("admin_utama"))).get_json()["sops"]
    assert any(f["startable"] for s in staff for f in s["flows"])


def test_a_staff_token_opens_a_case_in_a_flow_it_may_start(client, token_of):
    listed = client.get("/api/v1/sops", headers=bearer(token_of("admin_utama"))).get_json()["sops"]
    sop, flow = next((s, f) for s in listed for f in s["flows"] if f["startable"] and not f["public"]) \
        if any(f["startable"] and not f["public"] for s in listed for f in s["flows"]) else \
        next((s, f) for s in listed for f in s["flows"] if f["startable"])
    fields = {f["id"]: REPORT.get(f["id"], "Uji") for f in flow["fields"] if f["required"]}
    r = client.post(f"/api/v1/sops/{sop['id']}/flows/{flow['id']}/reports",
                    headers=bearer(token_of("admin_utama")), json={"fields": fields})
    assert r.status_code == 201, r.get_data(as_text=True)
    assert isinstance(r.get_json()["case_id"], int)


# -- problems everywhere -----------------------------------------------------------------------------
def test_every_error_is_a_problem_document(client, token_of):
    assert_problem(client.get("/api/v1/nowhere"), 404)
    assert_problem(client.get("/api/nowhere"), 404)
    r = client.delete("/api/v1/sops")
    assert_problem(r, 405)
    assert "GET" in r.headers["Allow"]
    assert_problem(client.get("/api/v1/track/NOPE-NOPE-NOPE"), 404, "not-found")
    assert_problem(client.get("/api/v1/track/%00"), 404, "not-found")
    assert_problem(client.get("/api/v1/sops/nope/flows/nope/reports"), 405)
    assert_problem(client.post("/api/v1/sops/nope/flows/nope/reports", json={"fields": {}}), 404, "not-found")
    assert_problem(client.get("/api/v1/sops?lang=xx"), 422, "invalid-request")
    assert_problem(client.get("/api/v1/cases/0", headers=bearer(token_of("kadis"))), 404)
    assert_problem(client.get("/api/v1/cases/%D9%A1", headers=bearer(token_of("kadis"))), 404)  # "١"
    assert_problem(client.post(SUBMIT, data=b"x" * 1_100_000, content_type="application/json"), 413)
    # the pages keep their HTML
    assert client.get("/nowhere").content_type.startswith("text/html")


def test_a_500_is_a_problem_too(db_url, seeded, monkeypatch):
    from runner import services

    app = make_app(db_url, PROPAGATE_EXCEPTIONS=False)
    try:
        monkeypatch.setattr(services, "waiting", lambda *a, **k: 1 / 0)
        with transaction(app.extensions["sop"].factory) as s:
            secret = tokens.create_token(s, "kadis", "t").secret
        body = assert_problem(app.test_client().get("/api/v1/tasks", headers=bearer(secret)), 500)
        assert "ZeroDivision" not in json.dumps(body)
    finally:
        dispose(app)


def test_the_api_shares_the_pages_rate_limits(db_url, seeded):
    """Reports filed by the page and by the API count against one budget per address."""
    app = make_app(db_url, RATELIMIT_ENABLED=True, SOP_LIMIT_REPORT="2 per minute", SOP_LIMIT_TRACK="3 per minute")
    try:
        page = Visitor(app)
        r = page.submit("/lapor/laporisp4n/pengaduan", REPORT, control="judul")
        assert r.status_code in (302, 303)
        api = app.test_client()
        assert api.post(SUBMIT, json={"fields": REPORT}).status_code == 201
        refused = api.post(SUBMIT, json={"fields": REPORT})
        assert_problem(refused, 429, "too-many-requests")
        assert int(refused.headers["Retry-After"]) >= 1
        assert page.submit("/lapor/laporisp4n/pengaduan", REPORT, control="judul").status_code == 429
        assert page.get("/lacak?kode=AAAA-BBBB-CCCC").status_code == 404
        assert api.get("/api/v1/track/AAAA-BBBB-CCCC").status_code == 404
        assert api.get("/api/v1/track/AAAA-BBBB-CCCC").status_code == 404
        assert_problem(api.get("/api/v1/track/AAAA-BBBB-CCCC"), 429)
        # a request with an account's token is not limited, as the staff pages are not
        with transaction(app.extensions["sop"].factory) as s:
            secret = tokens.create_token(s, "admin_utama", "t").secret
        for _ in range(3):
            assert api.post(SUBMIT, json={"fields": REPORT}, headers=bearer(secret)).status_code == 201
        assert_problem(api.post(SUBMIT, json={"fields": REPORT}), 429)  # still limited without one
    finally:
        dispose(app)


def test_the_openapi_document_is_3_1_and_names_every_endpoint(client):
    r = client.get("/api/openapi.json")
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) >= {"/api/v1/sops", "/api/v1/sops/{sop_id}/flows/{flow_id}/reports",
                                 "/api/v1/track/{code}", "/api/v1/tasks", "/api/v1/cases/{case_id}",
                                 "/api/v1/cases/{case_id}/actions/{action_id}"}
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    default = doc["components"]["responses"]["DEFAULT_ERROR"]
    assert list(default["content"]) == [PROBLEM]


# -- the CLI and the account page -------------------------------------------------------------------
def test_sop_token_create_list_revoke(db_url, seeded, capsys, client):
    base = ["--database", db_url]
    assert cli.main(["token", "create", "kadis", "--name", "laporan-bot", "--expires", "2099-12-31", *base]) == 0
    out = capsys.readouterr().out
    secret = out.strip().splitlines()[-1]
    assert secret.startswith("sop_")
    assert client.get("/api/v1/tasks", headers=bearer(secret)).status_code == 200
    assert cli.main(["token", "list", "kadis", *base]) == 0
    listing = capsys.readouterr().out
    assert "laporan-bot" in listing and "active" in listing and secret not in listing
    token_id = int(listing.split()[0])
    assert cli.main(["token", "revoke", str(token_id), *base]) == 0
    assert_problem(client.get("/api/v1/tasks", headers=bearer(secret)), 401)
    assert cli.main(["token", "list", "kadis", *base]) == 0
    assert "revoked" in capsys.readouterr().out
    assert cli.main(["token", "create", "kadis", "--expires", "2000-01-01", *base]) == 1
    assert "already passed" in capsys.readouterr().err
    assert cli.main(["token", "revoke", "9999", *base]) == 1
    assert cli.main(["token", "create", "nobody", *base]) == 1


def test_the_account_page_makes_and_revokes_own_tokens(app, staff, client):
    me = staff("kadis")
    with me.client.session_transaction() as s:
        s["lang"] = "en"
    page = me.get("/akun/token")
    assert page.status_code == 200 and 'data-testid="nav-tokens"' in page.get_data(as_text=True)
    r = me.submit("/akun/token", {"name": "my script"}, testid="token-form")
    assert r.status_code == 201
    html = r.get_data(as_text=True)
    secret = html.split('data-testid="token-secret">')[1].split("<")[0]
    assert client.get("/api/v1/tasks", headers=bearer(secret)).status_code == 200
    assert secret not in me.get("/akun/token").get_data(as_text=True)  # shown once
    assert me.submit("/akun/token", {"name": ""}, testid="token-form").status_code == 400
    token_id = int(html.split('data-token="')[1].split('"')[0])
    other = staff("admin_utama")  # someone else's token cannot be revoked from their page
    token = csrf_token(other.get("/akun/token").get_data(as_text=True))
    assert other.post(f"/akun/token/{token_id}/cabut", {"csrf_token": token}).status_code == 404
    assert client.get("/api/v1/tasks", headers=bearer(secret)).status_code == 200
    token = csrf_token(me.get("/akun/token").get_data(as_text=True))
    assert me.post(f"/akun/token/{token_id}/cabut", {"csrf_token": token}).status_code == 302
    assert_problem(client.get("/api/v1/tasks", headers=bearer(secret)), 401)
    assert Visitor(app).get("/akun/token").status_code == 302  # signed out: the sign-in page


def test_a_case_s_file_downloads_for_those_who_may_see_it(db_url, seeded, tmp_path, factory):
    import io

    from test_attachments import png

    app = make_app(db_url, SOP_UPLOADS=str(tmp_path / "uploads"))
    try:
        page = Visitor(app)
        form = {**REPORT, "lampiran": [(io.BytesIO(png()), "jalan.png")]}
        r = page.submit("/lapor/laporisp4n/pengaduan", form, control="judul")
        assert r.status_code == 302, r.get_data(as_text=True)[:500]
        code = r.headers["Location"].split("kode=")[1].split("&")[0]
        case_id = case_id_for_code(factory, code)
        with transaction(factory) as s:
            admin = tokens.create_token(s, "admin_utama", "t").secret
            other = tokens.create_token(s, "operator_opd.disdik", "t").secret
        api = app.test_client()
        view = api.get(f"/api/v1/cases/{case_id}", headers=bearer(admin)).get_json()
        (ref,) = next(v["value"] for v in view["data"] if v["field"] == "lampiran")
        r = api.get(f"/api/v1/cases/{case_id}/files/{ref['key']}", headers=bearer(admin))
        assert r.status_code == 200 and r.data == png() and r.mimetype == "image/png"
        assert r.headers["Content-Disposition"].startswith("attachment")
        assert_problem(api.get(f"/api/v1/cases/{case_id}/files/{ref['key']}", headers=bearer(other)), 404)
        assert_problem(api.get(f"/api/v1/cases/{case_id}/files/{ref['key']}"), 401)
        assert_problem(api.get(f"/api/v1/cases/{case_id}/files/{'0' * 32}", headers=bearer(admin)), 404)
        other_case = case_id_for_code(factory, file_report(api))
        assert_problem(api.get(f"/api/v1/cases/{other_case}/files/{ref['key']}", headers=bearer(admin)), 404)
    finally:
        dispose(app)


def test_a_confidential_report_tracks_its_status_only(client):
    code = file_report(client, confidential=True)
    body = client.get(f"/api/v1/track/{code}").get_json()
    assert body["confidential"] is True and body["answers"] == [] and body["title"] == ""
    assert REPORT["judul"] not in json.dumps(body)
