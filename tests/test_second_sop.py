"""Another agency drops in its own YAML and it runs: the example SOP of docs/examples (a request for
public information, with a checkbox, a number, a date, an email and a select) walked end to end
through the web front end beside LAPOR, on SQLite and PostgreSQL. Nothing in runner/ or web/ may
know either procedure."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conftest import LAPOR
from runner import services
from runner.registry import Registry
from runner.services import demo
from runner.store import transaction
from web_helpers import Visitor, case_count, dispose, make_app, text_of

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "permohonan_informasi.yaml"
REQUEST = {"nama": "Siti", "email": "siti@example.id", "telepon": "+62 812 3456 7890",
           "informasi_diminta": "Daftar anggaran jalan 2026", "tujuan": "Penelitian",
           "cara_memperoleh": "Salinan elektronik"}


@pytest.fixture
def two_sops(tmp_path, factory):
    folder = tmp_path / "definitions"
    folder.mkdir()
    shutil.copy(LAPOR, folder)
    shutil.copy(EXAMPLE, folder)
    registry = Registry.from_directory(folder)
    with transaction(factory) as s:
        services.publish_all(s, registry)
        demo.seed(s, registry)
    return folder


@pytest.fixture
def app(two_sops, db_url):
    app = make_app(db_url, SOP_DEFINITIONS=str(two_sops))
    yield app
    dispose(app)


def test_a_second_sop_runs_end_to_end_through_the_web(app, factory):
    citizen = Visitor(app)
    home = citizen.get("/").get_data(as_text=True)
    assert 'data-testid="submit-permohonan_informasi"' in home and 'data-testid="submit-laporisp4n"' in home

    bad = citizen.submit("/lapor/permohonan_informasi/permohonan", {**REQUEST, "email": "bukan-email"},
                         control="nonce")
    assert bad.status_code == 400 and 'data-testid="error-email"' in bad.get_data(as_text=True)
    before = case_count(factory)
    r = citizen.submit("/lapor/permohonan_informasi/permohonan", REQUEST, control="nonce")
    assert r.status_code == 302 and case_count(factory) == before + 1
    code = text_of(citizen.get(r.headers["Location"]).get_data(as_text=True), "tracking-code")

    petugas, ppid = Visitor(app), Visitor(app)
    petugas.login("petugas_ppid")
    ppid.login("ppid")
    [case_id] = petugas.inbox_ids()
    # The checkbox is required: unchecked, the step is refused beside the field.
    refused = petugas.act(case_id, "catat", drop=("lengkap",))
    assert refused.status_code == 400 and 'data-testid="error-lengkap"' in refused.get_data(as_text=True)
    assert petugas.act(case_id, "catat", {"lengkap": "on"}).status_code == 302

    assert ppid.act(case_id, "ke_unit", {"unit_pengelola": "dpupr"}).status_code == 302
    outsider, unit = Visitor(app), Visitor(app)
    outsider.login("pengelola_unit.dinkes")
    unit.login("pengelola_unit.dpupr")
    assert case_id not in outsider.inbox_ids() and outsider.get(f"/kasus/{case_id}").status_code == 404
    assert case_id in unit.inbox_ids()

    wrong = unit.act(case_id, "serahkan", {"jumlah_halaman": "nol", "tanggal_siap": "31-12-2026"})
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 400
    assert 'data-testid="error-jumlah_halaman"' in html and 'data-testid="error-tanggal_siap"' in html
    assert unit.act(case_id, "serahkan", {"jumlah_halaman": "12", "tanggal_siap": "2026-12-07"}).status_code == 302

    assert ppid.act(case_id, "sampaikan", {"jawaban": "Terlampir tautan unduhan."}).status_code == 302
    track = citizen.get(f"/lacak?kode={code}").get_data(as_text=True)
    assert text_of(track, "status") == "Informasi diberikan"
    assert "Terlampir tautan unduhan." in track and "siti@example.id" not in track


def test_units_are_shared_by_every_sop_but_roles_stay_per_sop(app):
    """LAPOR's Kadis has no business in the information-request procedure, and the other way round."""
    kadis = Visitor(app)
    kadis.login("kadis")
    inbox = kadis.get("/kotak-masuk").get_data(as_text=True)
    assert "/kasus/baru/permohonan_informasi/" not in inbox
    ppid = Visitor(app)
    ppid.login("ppid")
    assert re.search(r"/kasus/baru/laporisp4n/", ppid.get("/kotak-masuk").get_data(as_text=True)) is None
