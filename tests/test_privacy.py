"""*Anonim* and *rahasia*, with a canary: a unique reporter name in an anonymous report must appear in
no response any other user sees, over every route, at every state of the case, and in no log line.
"""

from __future__ import annotations

import logging
import re
import uuid

from sqlalchemy import select

from conftest import REPORT
from runner.privacy import MASK
from runner.store import Case, HistoryEntry, User
from web_helpers import STEPS, Visitor, advance, text_of

PUBLIC_FORM = "/lapor/laporisp4n/pengaduan"


def _file(app, report, **choices) -> tuple[int, str, Visitor]:
    citizen = Visitor(app)
    r = citizen.submit(PUBLIC_FORM, {**report, **{f"_{k}": "on" for k, v in choices.items() if v}}, control="nonce")
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    code = re.search(r"kode=([A-Z0-9-]+)", r.headers["Location"]).group(1)
    return code, citizen


def _case_id(factory, code: str) -> int:
    with factory() as s:
        return s.scalar(select(Case.id).where(Case.tracking_code == code))


def _every_user(factory) -> list[str]:
    with factory() as s:
        return sorted(u.username for u in s.scalars(select(User)))


def _pages(app, username: str, case_id: int) -> str:
    v = Visitor(app)
    v.login(username)
    out = []
    for url in ("/kotak-masuk", "/kasus", "/kasus?semua=1", f"/kasus/{case_id}",
                f"/kasus/{case_id}?x=1", "/kasus/999999", "/tidak-ada"):
        out.append(v.get(url).get_data(as_text=True))
    # and the page a refused or late form comes back on
    out.append(v.post(f"/kasus/{case_id}", {"csrf_token": _csrf(v), "version": "0", "action": "x"}).get_data(as_text=True))
    return "\n".join(out)


def _csrf(v: Visitor) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', v.get("/kotak-masuk").get_data(as_text=True)).group(1)


def test_an_anonymous_reporter_is_seen_only_by_who_may_see_them(app, factory, registry, actor, caplog):
    caplog.set_level(logging.INFO)
    canary = f"Kanari Pelapor {uuid.uuid4().hex[:10]}"
    phone = f"0899{uuid.uuid4().int % 10**8:08d}"
    code, citizen = _file(app, {**REPORT, "nama_pelapor": canary, "kontak_pelapor": phone}, anonim=True)
    case_id = _case_id(factory, code)
    users = _every_user(factory)
    seen_by = set()
    for upto in range(1, len(STEPS) + 2):  # at every state, the finished one included
        if upto > 1:
            advance(factory, registry, actor, case_id, upto) if upto == 2 else _one_step(factory, registry, actor,
                                                                                        case_id, upto - 1)
        for username in users:
            html = _pages(app, username, case_id)
            if canary in html or phone in html:
                seen_by.add(username)
        public = Visitor(app).get(f"/lacak?kode={code}").get_data(as_text=True)
        assert canary not in public and phone not in public
    assert seen_by == {"admin_utama"}, seen_by  # the role marked sees_identity, and nobody else
    assert not any(canary in r.getMessage() or phone in r.getMessage() for r in caplog.records)

    kadis = Visitor(app)
    kadis.login("kadis")
    html = kadis.get(f"/kasus/{case_id}").get_data(as_text=True)
    assert text_of(html, "data-nama_pelapor") == MASK and 'data-testid="badge-anonim"' in html


def _one_step(factory, registry, actor, case_id, no):
    from runner import services
    from runner.store import transaction

    _, user, action, fields = STEPS[no - 1]
    raw = {**fields, "jawaban": STEPS[5][3]["jawaban"]} if no == 8 else fields
    with transaction(factory) as s:
        services.perform_step(s, registry, case_id, actor(user), action, raw, expected_version=None)


def test_a_report_that_is_not_anonymous_shows_its_reporter_to_staff(app, factory):
    code, _ = _file(app, {**REPORT, "nama_pelapor": "Budi Terbuka"})
    kadis = Visitor(app)
    kadis.login("kadis")
    html = kadis.get(f"/kasus/{_case_id(factory, code)}").get_data(as_text=True)
    assert text_of(html, "data-nama_pelapor") == "Budi Terbuka"


def test_a_confidential_report_shows_only_its_status_in_public(app, factory):
    code, citizen = _file(app, REPORT, rahasia=True)
    html = citizen.get(f"/lacak?kode={code}").get_data(as_text=True)
    assert REPORT["judul"] not in html
    assert text_of(html, "status") == "Laporan diterima dan sedang dicatat"
    assert 'data-testid="confidential"' in html
    open_report, _ = _file(app, REPORT)
    assert REPORT["judul"] in Visitor(app).get(f"/lacak?kode={open_report}").get_data(as_text=True)


def test_admin_utama_sets_rahasia_and_anonim_at_verification_and_the_history_says_so(app, factory, registry, actor):
    code, citizen = _file(app, REPORT)
    case_id = _case_id(factory, code)
    advance(factory, registry, actor, case_id, 2)  # at verification
    admin = Visitor(app)
    admin.login("admin_utama")
    page = admin.get(f"/kasus/{case_id}")
    assert 'data-testid="privacy"' in page.get_data(as_text=True)
    r = admin.submit(f"/kasus/{case_id}", {"_rahasia": "on", "_anonim": "on", "catatan_verifikasi": "ok"},
                     testid="step-form", button="action-valid", page=page)
    assert r.status_code == 302
    assert REPORT["judul"] not in citizen.get(f"/lacak?kode={code}").get_data(as_text=True)
    with factory() as s:
        last = s.scalars(select(HistoryEntry).where(HistoryEntry.case_id == case_id)
                         .order_by(HistoryEntry.seq.desc())).first()
        assert (last.data["_anonim"], last.data["_rahasia"]) == (True, True)
    kadis = Visitor(app)
    kadis.login("kadis")
    html = kadis.get(f"/kasus/{case_id}").get_data(as_text=True)
    assert 'data-testid="privacy-change"' in html and REPORT["nama_pelapor"] not in html

    # a form that did not carry the boxes (another step, an old page) never lifts them
    advance_page = admin.get(f"/kasus/{case_id}")
    assert 'data-testid="privacy"' not in advance_page.get_data(as_text=True)
    assert admin.submit(f"/kasus/{case_id}", {}, testid="step-form", button="action-sampaikan",
                        page=advance_page).status_code == 302
    with factory() as s:
        data = s.get(Case, case_id).data
        assert data["_anonim"] is True and data["_rahasia"] is True
