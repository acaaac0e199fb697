"""The log: what an operator needs to follow steps, refusals, conflicts and logins — and nothing of
what a reporter told us.

Runs a real day through the web (a public report, logins good and bad, steps, a refusal, a peek at
another OPD's case, a stale form) and reads every line written: each event carries its fields and
the request id of the request that caused it, and no line holds the reporter's name, contact, text,
tracking code, or a username that does not exist.
"""

from __future__ import annotations

import io
import json
import logging
import re


from runner import logs
from web_helpers import Visitor

PUBLIC_FORM = "/lapor/laporisp4n/pengaduan"
SECRET_REPORT = {"judul": "Pungli di kantor kecamatan", "isi_laporan": "Petugas Rahasiawan minta uang 50 ribu.",
                 "nama_pelapor": "Siti Pelaporwati", "kontak_pelapor": "081299887766"}


def _events(caplog, name):
    return [r for r in caplog.records if getattr(r, "event", None) == name]


def test_a_day_in_the_log(app, caplog):
    caplog.set_level(logging.INFO)
    citizen = Visitor(app)
    r = citizen.submit(PUBLIC_FORM, SECRET_REPORT, control="nonce")
    assert r.status_code == 302
    code = re.search(r"kode=([A-Z0-9-]+)", r.headers["Location"]).group(1)

    ghost = Visitor(app)
    r = ghost.submit("/masuk", {"username": "penyusup-tak-dikenal", "password": "x"}, control="username")
    assert r.status_code == 401
    admin = Visitor(app)
    r = admin.submit("/masuk", {"username": "admin_utama", "password": "salah-sekali"}, control="username")
    assert r.status_code == 401
    admin.login("admin_utama")

    case_id = max(admin.inbox_ids())
    page = admin.get(f"/kasus/{case_id}")
    assert admin.act(case_id, "simpan", {"kanal": "web"}, page=page).status_code == 302
    stale = admin.act(case_id, "simpan", {"kanal": "sms"}, page=page)  # the same form again
    assert stale.status_code == 409

    kadis = Visitor(app)
    kadis.login("kadis")
    refused = kadis.post(f"/kasus/{case_id}", {"csrf_token": _csrf(kadis, case_id), "version": "2",
                                               "action": "valid", "step": "verifikasi_laporan"})
    assert refused.status_code == 403

    outsider = Visitor(app)
    outsider.login("operator_opd.disdik")
    assert outsider.get(f"/kasus/{case_id}").status_code == 404

    [performed] = _events(caplog, "step.performed")
    f = performed.fields
    assert (f["case"], f["sop"], f["activity"], f["action"], f["role"], f["to"]) == (
        case_id, "laporisp4n", "input_laporan", "simpan", "admin_utama", "verifikasi_laporan")
    assert isinstance(f["ms"], float) and f["unit"] == "-"

    [conflict] = _events(caplog, "step.conflict")
    assert conflict.fields["case"] == case_id and conflict.levelno == logging.WARNING
    [refusal] = _events(caplog, "step.refused")
    assert refusal.fields["roles"] == "kadis" and "step 2 is performed by Admin Utama" in refusal.fields["reason"]
    [hidden] = _events(caplog, "case.hidden")
    assert (hidden.fields["case"], hidden.fields["unit"]) == (case_id, "disdik")

    failed = _events(caplog, "login.failed")
    assert [x.fields["reason"] for x in failed] == ["unknown username", "wrong password"]
    assert failed[1].fields["user"] != "-"
    assert len(_events(caplog, "login.ok")) == 3  # admin (on the second try), kadis, the outsider
    assert _events(caplog, "case.started")[0].fields["role"] == "pelapor"

    # every line written while serving a request names it; the id is echoed to the client
    for record in caplog.records:
        if getattr(record, "event", None) in {"step.performed", "step.refused", "case.hidden", "login.ok"}:
            assert re.fullmatch(r"[0-9a-f]{16}", record.request_id), record.getMessage()

    everything = "\n".join(r.getMessage() + json.dumps(getattr(r, "fields", {}), default=str)
                           for r in caplog.records)
    for secret in (*SECRET_REPORT.values(), code, "penyusup-tak-dikenal", "salah-sekali"):
        assert secret not in everything, f"{secret!r} leaked into the log"


def _csrf(visitor, case_id):
    html = visitor.get(f"/kasus/{case_id}").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_a_request_id_from_the_proxy_is_kept_and_a_hostile_one_replaced(app, caplog):
    caplog.set_level(logging.INFO)
    client = app.test_client()
    r = client.get("/", headers={"X-Request-ID": "proxy-abc.123"})
    assert r.headers["X-Request-ID"] == "proxy-abc.123"
    r = client.get("/", headers={"X-Request-ID": "bad id <script>" + "x" * 80})
    assert re.fullmatch(r"[0-9a-f]{16}", r.headers["X-Request-ID"])
    r = client.get("/")
    assert re.fullmatch(r"[0-9a-f]{16}", r.headers["X-Request-ID"])
    assert logs.REQUEST_ID.get() == "-"  # nothing lingers after the request


def test_json_lines_carry_the_event_fields(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    logs.configure("INFO", "json")
    try:
        token = logs.REQUEST_ID.set("req-1")
        logs.event(logging.getLogger("runner.test"), "step.performed", case=7, sop="laporisp4n", ms=1.5)
        logs.REQUEST_ID.reset(token)
        logging.getLogger("runner.test").debug("not at INFO")
    finally:
        logs.configure("INFO", "text")
    [line] = [x for x in stream.getvalue().splitlines() if x.strip()]
    data = json.loads(line)
    assert data["event"] == "step.performed" and data["case"] == 7 and data["ms"] == 1.5
    assert (data["level"], data["logger"], data["request_id"]) == ("INFO", "runner.test", "req-1")
    assert data["message"].startswith("step.performed case=7")


def test_text_lines_and_the_level(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    logs.configure("warning", "text")
    try:
        logs.event(logging.getLogger("runner.test"), "quiet.event", case=1)
        logs.event(logging.getLogger("runner.test"), "loud.event", logging.WARNING, case=2)
    finally:
        logs.configure("INFO", "text")
    text = stream.getvalue()
    assert "quiet.event" not in text
    assert re.search(r"WARNING runner\.test \[-\] loud\.event case=2$", text.strip())
