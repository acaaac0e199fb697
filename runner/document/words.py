"""The fixed words of the official document, in Bahasa Indonesia and English.

``runner`` does not use Flask-Babel (the CLI renders documents without an app), so the few words the
Permenpan-RB 35/2012 format prints itself — column headings, the identity page's row titles — are
kept here, one table, and picked with :func:`word`. Everything else on the page comes from the YAML
and goes through ``runner.definition.display``.
"""

from __future__ import annotations

LOCALES = ("id", "en")

_WORDS: dict[str, tuple[str, str]] = {
    # flowchart table
    "no": ("No", "No"),
    "activity": ("Kegiatan", "Activity"),
    "performers": ("Pelaksana", "Performers"),
    "quality": ("Mutu Baku", "Quality standard"),
    "requirements": ("Kelengkapan / Persyaratan", "Requirements"),
    "time": ("Waktu", "Time"),
    "output": ("Output", "Output"),
    "note": ("Keterangan", "Remarks"),
    "start": ("Mulai", "Start"),
    "end": ("Selesai", "End"),
    "advisory": ("menyesuaikan", "advisory"),
    "page": ("Halaman %(n)s dari %(count)s", "Page %(n)s of %(count)s"),
    "flowchart": ("Bagan alir", "Flowchart"),
    "scheduled": ("terjadwal: %(schedule)s", "scheduled: %(schedule)s"),
    "continued_from": ("Sambungan dari halaman %(page)s", "Continued from page %(page)s"),
    "continues_on": ("Bersambung ke halaman %(page)s", "Continues on page %(page)s"),
    "connector": ("Penghubung %(label)s", "Connector %(label)s"),
    "to_page": ("ke halaman %(page)s", "to page %(page)s"),
    "from_page": ("dari halaman %(page)s", "from page %(page)s"),
    "current": ("Langkah saat ini", "Current step"),
    "visited": ("Sudah dilalui", "Already passed"),
    "case_map": ("Peta kasus", "Case map"),
    "legend_current": ("▶ langkah saat ini", "▶ current step"),
    "legend_visited": ("✓ sudah dilalui", "✓ already passed"),
    # identity page
    "agency": ("Instansi / Unit", "Agency / unit"),
    "sop_number": ("Nomor SOP", "SOP number"),
    "created": ("Tanggal Pembuatan", "Date made"),
    "revised": ("Tanggal Revisi", "Date revised"),
    "effective": ("Tanggal Efektif", "Effective date"),
    "prepared_by": ("Disusun oleh", "Prepared by"),
    "checked_by": ("Diperiksa oleh", "Checked by"),
    "approved_by": ("Disahkan oleh", "Approved by"),
    "nip": ("NIP", "NIP"),
    "sop_name": ("Nama SOP", "SOP name"),
    "legal_basis": ("Dasar Hukum", "Legal basis"),
    "qualifications": ("Kualifikasi Pelaksana", "Performer qualifications"),
    "related_sops": ("Keterkaitan", "Related SOPs"),
    "equipment": ("Peralatan / Perlengkapan", "Equipment"),
    "warnings": ("Peringatan", "Warnings"),
    "recording": ("Pencatatan dan Pendataan", "Recording and data-keeping"),
    "remarks": ("Keterangan", "Remarks"),
    "none": ("-", "-"),
    "document": ("Dokumen SOP", "SOP document"),
    "identity": ("Identitas SOP", "SOP identity"),
}


def word(key: str, locale: str | None = None, **params: object) -> str:
    """The fixed word ``key`` in ``locale`` (Bahasa Indonesia unless it starts with ``en``)."""
    text = _WORDS[key][1 if locale and locale.startswith("en") else 0]
    return text % params if params else text
