"""The PPID SOP (sop_definitions/ppid.yaml) as a requester and the PPID's staff live it, through the
web: the time limits the law fixes, the extension the requester is told about, a refusal that
names its exemption, and an objection answered by the Atasan PPID."""

from __future__ import annotations

import datetime as dt


from runner.definition import load_file
from conftest import DEFINITIONS
from web_helpers import Visitor, case_row, text_of

PPID = DEFINITIONS / "ppid.yaml"
REQUEST = {"nama_pemohon": "Siti Nurhaliza", "nomor_identitas": "3204124507900003",
           "alamat": "Jl. Merdeka No. 12, Sukamaju", "telepon": "0812 3456 7890",
           "email": "siti.nurhaliza@example.com", "informasi_diminta": "Daftar penerima bantuan sosial 2025",
           "tujuan_penggunaan": "Pengawasan masyarakat", "cara_memperoleh": "salinan", "cara_salinan": "email"}


def test_the_limits_are_the_laws():
    sop = load_file(PPID)
    limit = {a.id: (a.time_limit.duration.days, a.time_limit.advisory) for a in sop.activities
             if a.time_limit and a.time_limit.duration.days}
    assert limit["keputusan_ppid"] == (10, False)  # UU 14/2008 Pasal 22 ayat (7)
    assert limit["perpanjangan_waktu"] == (7, False)  # ayat (8)
    assert limit["tanggapan_keberatan"] == (30, False)  # Pasal 36
    # extendable once: the extension step offers no second extension
    assert "perpanjang" in [a.id for a in sop.activity("keputusan_ppid").actions]
    assert all(a.to != "perpanjangan_waktu" for a in sop.activity("perpanjangan_waktu").actions)
    # the exemption is asked only of the actions that withhold information
    decision = sop.activity("keputusan_ppid")
    asks = {a.id for a in decision.actions if "pasal_pengecualian" in a.requires}
    assert asks == {"berikan_sebagian", "tolak"}
    assert "pasal_pengecualian" not in decision.action("berikan_seluruhnya").uses


def test_an_extended_then_refused_request_and_its_objection(app, factory):
    citizen = Visitor(app)
    r = citizen.submit("/lapor/ppid/permohonan", REQUEST, control="nonce")
    assert r.status_code == 302
    code = text_of(citizen.get(r.headers["Location"]).get_data(as_text=True), "tracking-code")
    track = citizen.get(f"/lacak?kode={code}").get_data(as_text=True)
    assert text_of(track, "status") == "Permohonan diterima dan sedang diperiksa kelengkapannya"

    petugas, ppid, atasan = Visitor(app), Visitor(app), Visitor(app)
    petugas.login("petugas_informasi")
    ppid.login("ppid")
    atasan.login("atasan_ppid")
    [case_id] = petugas.inbox_ids()
    assert petugas.act(case_id, "lengkap").status_code == 302
    # the register number is required, and the requester reads it
    assert petugas.act(case_id, "daftarkan").status_code == 400
    assert petugas.act(case_id, "daftarkan", {"nomor_pendaftaran": "045/PPID-SKM/XI/2026"}).status_code == 302
    decided = case_row(factory, case_id)
    assert decided.state == "keputusan_ppid" and decided.due_at is not None
    # an extension needs its reason; the tracking page then says the time was extended, and why
    assert ppid.act(case_id, "perpanjang").status_code == 400
    assert ppid.act(case_id, "perpanjang", {"alasan_perpanjangan": "Informasi tersebar di tiga dinas."}).status_code == 302
    extended = case_row(factory, case_id)
    # seven working days from the notice of extension: at least nine calendar days
    assert extended.state == "perpanjangan_waktu" and extended.due_at - extended.updated_at >= dt.timedelta(days=9)
    track = citizen.get(f"/lacak?kode={code}").get_data(as_text=True)
    assert "diperpanjang" in text_of(track, "status")
    assert "Informasi tersebar di tiga dinas." in track and "045/PPID-SKM/XI/2026" in track
    # refusing without the exemption is refused beside the fields
    bad = ppid.act(case_id, "tolak", {"pemberitahuan_tertulis": "Ditolak."})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert 'data-testid="error-pasal_pengecualian"' in html and 'data-testid="error-uji_konsekuensi"' in html
    assert ppid.act(case_id, "tolak", {"pemberitahuan_tertulis": "Permohonan ditolak.",
                                       "pasal_pengecualian": "pasal_17_h",
                                       "uji_konsekuensi": "Membuka NIK penerima mengungkap rahasia pribadi."}
                    ).status_code == 302
    track = citizen.get(f"/lacak?kode={code}").get_data(as_text=True)
    assert text_of(track, "status") == "Selesai, permohonan ditolak (informasi dikecualikan)"
    assert "Pasal 17 huruf h" in track and "Membuka NIK penerima" in track
    assert "pasal_17_h" not in track  # a select shows the option chosen, not its stored value
    staff = ppid.get(f"/kasus/{case_id}").get_data(as_text=True)
    assert text_of(staff, "data-cara_memperoleh") == "Mendapatkan salinan informasi (hardcopy/softcopy)"
    assert "<dd>Pasal 17 huruf h: mengungkap rahasia pribadi</dd>" in staff  # in the history
    assert "3204124507900003" not in track and "Siti Nurhaliza" not in track

    # the objection: filed on the public page, registered, answered by the Atasan PPID
    objection = {"nomor_pendaftaran": "045/PPID-SKM/XI/2026", "nama_pemohon": "Siti Nurhaliza",
                 "nomor_identitas": "3204124507900003", "alamat": "Jl. Merdeka No. 12", "telepon": "0812 3456 7890",
                 "alasan_keberatan": "pasal_35_a", "pokok_keberatan": "Keberatan atas penolakan 045",
                 "kasus_posisi": "Saya hanya memerlukan jumlah per desa."}
    r = citizen.submit("/lapor/ppid/keberatan", objection, control="nonce")
    assert r.status_code == 302
    code2 = text_of(citizen.get(r.headers["Location"]).get_data(as_text=True), "tracking-code")
    [objection_id] = petugas.inbox_ids()
    assert objection_id not in atasan.inbox_ids()
    assert petugas.act(objection_id, "teruskan", {"nomor_register_keberatan": "007/KEB/2026"}).status_code == 302
    assert objection_id in atasan.inbox_ids() and objection_id not in ppid.inbox_ids()
    row = case_row(factory, objection_id)
    sop = load_file(PPID)
    # 30 working days: at least six calendar weeks away
    assert row.due_at - row.updated_at >= dt.timedelta(days=40)
    assert sop.activity(row.state).time_limit.text == "30 hari kerja"
    assert atasan.act(objection_id, "kabulkan", {"tanggapan_atasan": "PPID memberikan rekap per desa."}
                      ).status_code == 302
    track = citizen.get(f"/lacak?kode={code2}").get_data(as_text=True)
    assert text_of(track, "status") == "Selesai, keberatan telah ditanggapi Atasan PPID"
    assert "PPID memberikan rekap per desa." in track and "Komisi Informasi" in track


def test_an_incomplete_request_goes_back_with_what_is_missing(app):
    citizen, petugas = Visitor(app), Visitor(app)
    r = citizen.submit("/lapor/ppid/permohonan", REQUEST, control="nonce")
    code = text_of(citizen.get(r.headers["Location"]).get_data(as_text=True), "tracking-code")
    petugas.login("petugas_informasi")
    [case_id] = petugas.inbox_ids()
    assert petugas.act(case_id, "tidak_lengkap").status_code == 400  # what is missing must be said
    assert petugas.act(case_id, "tidak_lengkap", {"kekurangan": "Fotokopi KTP belum dilampirkan."}).status_code == 302
    track = citizen.get(f"/lacak?kode={code}").get_data(as_text=True)
    assert text_of(track, "status") == "Dikembalikan, permohonan belum lengkap"
    assert "Fotokopi KTP belum dilampirkan." in track and "Lengkapi kekurangan" in track
