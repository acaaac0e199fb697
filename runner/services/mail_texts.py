"""The words of every email the outbox sends, in Bahasa Indonesia and English.

Kept as plain strings in one module rather than templates in the web package: the runner sends the
mail (``sop tick``, ``sop worker``) with no Flask app, and a message is a handful of lines. Each kind
has a subject and a body per language; ``render`` fills them from the message's ``payload`` (texts
the outbox resolved in the recipient's language when the step happened), so what is sent is what
was true at that step even if it is delivered hours later. Values are inserted with ``str.format``
on our own strings only: a value holding ``{`` or ``}`` is text, never a placeholder.

What goes in, by construction of the payloads (``services.outbox``): a reporter reads only what the
tracking page shows them — the tracking code, public status texts, a pause reason's label, an end's
public message and the values of public fields (none of those for a confidential report) — never a
staff note; a staff member reads the case number, the SOP, the step, the due time and the case's
title (masked when the report is anonymous and its title identifies the reporter).
"""

from __future__ import annotations

from typing import Any, Mapping

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"

SUBJECTS: dict[str, dict[str, str]] = {
    "reporter.received": {"id": "[{flow}] Pengajuan Anda telah diterima ({code})",
                          "en": "[{flow}] Your submission was received ({code})"},
    "reporter.step": {"id": "[{flow}] Kabar pengajuan Anda ({code}): {status}",
                      "en": "[{flow}] News of your submission ({code}): {status}"},
    "reporter.on_hold": {"id": "[{flow}] Pengajuan Anda ditunda ({code})",
                         "en": "[{flow}] Your submission is on hold ({code})"},
    "reporter.finished": {"id": "[{flow}] Pengajuan Anda selesai ({code})",
                          "en": "[{flow}] Your submission is finished ({code})"},
    "staff.new_work": {"id": "[{sop}] Tugas baru: kasus #{case_id}, langkah {step}",
                       "en": "[{sop}] New work: case #{case_id}, step {step}"},
    "staff.escalation": {"id": "[{sop}] Eskalasi: kasus #{case_id} terlambat di langkah {step}",
                         "en": "[{sop}] Escalation: case #{case_id} is late at step {step}"},
}

_WORDS: dict[str, dict[str, str]] = {
    "hello": {"id": "Yth. Bapak/Ibu,", "en": "Dear Sir or Madam,"},
    "received": {"id": "Pengajuan Anda telah kami terima.", "en": "We have received your submission."},
    "step": {"id": "Ada kabar terbaru tentang pengajuan Anda.", "en": "There is news of your submission."},
    "on_hold": {"id": "Pengajuan Anda ditunda sementara.", "en": "Your submission is on hold for now."},
    "finished": {"id": "Pengajuan Anda telah selesai ditangani.", "en": "Your submission has been dealt with."},
    "code": {"id": "Kode pelacakan", "en": "Tracking code"},
    "status": {"id": "Status", "en": "Status"},
    "reason": {"id": "Alasan", "en": "Reason"},
    "track": {"id": "Lacak pengajuan Anda dengan kode ini di", "en": "Track your submission with this code at"},
    "track_plain": {"id": "Simpan kode ini untuk melacak pengajuan Anda.",
                    "en": "Keep this code to track your submission."},
    "confidential": {"id": "Pengajuan ini bersifat rahasia: rinciannya tidak disertakan dalam email.",
                     "en": "This submission is confidential: its details are not included in email."},
    "new_work": {"id": "Sebuah kasus menunggu tindakan Anda.", "en": "A case is waiting for you to act on it."},
    "escalation": {"id": "Sebuah kasus telah melewati batas waktunya dan dieskalasikan kepada Anda.",
                   "en": "A case is past its time limit and has been escalated to you."},
    "case": {"id": "Kasus", "en": "Case"},
    "sop": {"id": "SOP", "en": "SOP"},
    "title": {"id": "Judul", "en": "Title"},
    "at_step": {"id": "Langkah", "en": "Step"},
    "due": {"id": "Batas waktu", "en": "Due"},
    "open": {"id": "Buka kasus", "en": "Open the case"},
    "footer": {"id": "Email ini dikirim otomatis; mohon tidak membalasnya.",
               "en": "This email was sent automatically; please do not reply to it."},
}


def language(value: object) -> str:
    """A language this module writes in: ``value`` when it is one (``en``, ``en-GB``), else Indonesian."""
    text = str(value or "").strip().lower()[:2]
    return text if text in LANGUAGES else DEFAULT_LANGUAGE


def _w(key: str, lang: str) -> str:
    return _WORDS[key][lang]


def _one_line(text: object, limit: int = 200) -> str:
    """A value fit for a subject line: no line breaks (a header cannot hold them), bounded length."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def render(kind: str, lang: str, payload: Mapping[str, Any], base_url: str | None = None) -> tuple[str, str]:
    """(subject, body) of a message. KeyError for an unknown kind: the outbox records it as failed."""
    lang = language(lang)
    values = {k: _one_line(v) for k, v in payload.items() if isinstance(v, (str, int, float))}
    subject = _one_line(SUBJECTS[kind][lang].format_map(_Defaults(values)), 250)
    link = f"{base_url.rstrip('/')}{payload['path']}" if base_url and payload.get("path") else ""
    lines = [_w("hello", lang), ""]
    if kind.startswith("reporter."):
        lines += _reporter_body(kind.split(".", 1)[1], lang, payload, link)
    else:
        lines += _staff_body(kind.split(".", 1)[1], lang, payload, link)
    lines += ["", "-- ", _w("footer", lang)]
    return subject, "\n".join(lines) + "\n"


def _reporter_body(event: str, lang: str, p: Mapping[str, Any], link: str) -> list[str]:
    lines = [_w(event, lang), "", f"{_w('code', lang)}: {p.get('code', '')}"]
    if p.get("status"):
        lines.append(f"{_w('status', lang)}: {p['status']}")
    if event == "on_hold" and p.get("reason"):
        lines.append(f"{_w('reason', lang)}: {p['reason']}")
    if p.get("message"):
        lines += ["", str(p["message"])]
    answers = p.get("answers") or []
    if answers:
        lines.append("")
        for label, value in answers:
            lines += [f"{label}:", str(value), ""]
        if lines[-1] == "":
            lines.pop()
    if p.get("confidential"):
        lines += ["", _w("confidential", lang)]
    lines += ["", f"{_w('track', lang)} {link}" if link else _w("track_plain", lang)]
    return lines


def _staff_body(event: str, lang: str, p: Mapping[str, Any], link: str) -> list[str]:
    lines = [_w(event, lang), "", f"{_w('case', lang)}: #{p.get('case_id', '')}", f"{_w('sop', lang)}: {p.get('sop', '')}"]
    if p.get("title"):
        lines.append(f"{_w('title', lang)}: {p['title']}")
    lines.append(f"{_w('at_step', lang)}: {p.get('step', '')}")
    if p.get("due"):
        lines.append(f"{_w('due', lang)}: {p['due']}")
    if link:
        lines += ["", f"{_w('open', lang)}: {link}"]
    return lines


class _Defaults(dict[str, str]):
    """A missing value renders empty rather than failing the whole message."""

    def __missing__(self, key: str) -> str:
        return ""


__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "SUBJECTS", "language", "render"]
