"""Server-side validation of a step's form against the fields the YAML declares.

Browsers can be bypassed, so every value is checked here whatever the HTML said. Errors carry a code
and parameters rather than finished sentences: the web layer translates them (Bahasa Indonesia by
default) while the CLI and tests can read the English template.

Hostile input is refused, not repaired: a value holding a control character (NUL, the other C0 and
C1 controls, DEL) or a lone surrogate is an error (``control_chars``) whatever the field's type —
NUL cannot be stored in PostgreSQL text, and the others are invisible, no keyboard types them, and
they end up in exports and logs. Tab, line feed and carriage return are ordinary typing: a textarea
keeps them (``\r\n`` and a lone ``\r`` become ``\n``), a one-line text folds them into spaces, email
and tel patterns refuse them. Nothing is silently dropped: what is stored is what was typed (trimmed).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

from .definition.model import DEFAULT_ACCEPT, Field


def N_(message: str) -> str:
    """Marks a message for translation extraction without translating it here."""
    return message


MESSAGES = {
    "required": N_("This field is required."),
    "too_long": N_("At most %(max)s characters."),
    "not_number": N_("Enter a number."),
    "too_small": N_("Must be at least %(min)s."),
    "too_large": N_("Must be at most %(max)s."),
    "not_date": N_("Enter a date as YYYY-MM-DD."),
    "not_email": N_("Enter a valid email address."),
    "not_phone": N_("Enter a valid phone number."),
    "not_option": N_("Choose one of the options."),
    "not_unit": N_("Choose one of the listed units."),
    "control_chars": N_("Remove the invisible control characters from this text."),
    "not_file": N_("Choose a file to attach."),
    "too_many_files": N_("Attach at most %(max)s files."),
    "file_too_large": N_("%(name)s is larger than %(max)s."),
    "file_empty": N_("%(name)s is empty."),
    "file_type": N_("%(name)s is not an accepted type of file (its content is %(found)s; accepted: %(accept)s)."),
}

# What a file field may accept (``accept`` in the YAML): the types the ``filetype`` package tells
# from a file's first bytes, limited to documents and pictures a report or a letter is made of.
# Archives, programs and scripts are never accepted, whatever their name says.
KNOWN_TYPES = {
    "image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WebP", "image/tiff": "TIFF",
    "image/bmp": "BMP", "image/heic": "HEIC", "image/avif": "AVIF",
    "application/pdf": "PDF",
    "application/msword": "Word (.doc)",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word (.docx)",
    "application/vnd.ms-excel": "Excel (.xls)",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel (.xlsx)",
    "application/vnd.ms-powerpoint": "PowerPoint (.ppt)",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint (.pptx)",
    "application/vnd.oasis.opendocument.text": "OpenDocument text (.odt)",
    "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument spreadsheet (.ods)",
    "application/vnd.oasis.opendocument.presentation": "OpenDocument presentation (.odp)",
}
MAX_NAME = 120  # characters of an original file name kept for display


@dataclass(frozen=True)
class Upload:
    """A file as submitted: the name the sender's computer gave it (shown, never used as a path)
    and its bytes. The web layer makes these from the request; nothing else of it reaches here."""

    name: str
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class CleanFile:
    """A submitted file that passed its field's checks, with the type its bytes show. Turned into a
    stored attachment, in the step's own transaction, by ``services.attachments``."""

    name: str  # sanitized for display
    mime: str
    content: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.content)


def display_name(name: str) -> str:
    """The sender's file name, safe to show: no directory part, no control characters, at most
    ``MAX_NAME`` characters (keeping the extension). Never used to name anything on disk."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = _ANY_CONTROL_RE.sub("", base)
    base = " ".join(base.split()).strip(". ") or "lampiran"
    if len(base) > MAX_NAME:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: MAX_NAME - len(ext) - 1] + "." + ext) if dot and len(ext) <= 10 else base[:MAX_NAME]
    return base


def human_size(size: int) -> str:
    """Bytes as a person reads them (1 KB = 1024 bytes, as file managers count)."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f}".rstrip("0").rstrip(".") + " MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} B"


def accepts(accept: Iterable[str], mime: str) -> bool:
    """Whether ``mime`` is one of ``accept``'s types or families (``image/*``)."""
    return any(kind == mime or (kind.endswith("/*") and mime.startswith(kind[:-1])) for kind in accept)


def sniff(content: bytes) -> str | None:
    """The MIME type the bytes show (``filetype`` reads their first 8 KB), or None."""
    import filetype  # type: ignore[import-untyped]

    kind = filetype.guess(content[:8192])
    return str(kind.mime) if kind is not None else None

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_RE = re.compile(r"^\+?[0-9 ()\-]{6,20}$")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")  # what a browser's date input sends; nothing else
# C0 controls but tab, LF and CR; DEL and the C1 controls; lone surrogates (never from a browser,
# but a service caller could pass one, and no database encoding takes it).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_ANY_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def has_control_chars(text: str, *, allow_line_breaks: bool = False) -> bool:
    """The one rule for "control characters" (C0, DEL, C1, lone surrogates), used by every check of
    typed input: form fields, tracking codes, return addresses. Tab, CR and LF pass only when
    ``allow_line_breaks`` (a textarea)."""
    return bool((_CONTROL_RE if allow_line_breaks else _ANY_CONTROL_RE).search(text))
_TRUE = {"on", "true", "1", "yes", "ya", "y"}
MAX_TEXT = 20_000  # a hard cap even where the YAML sets none


@dataclass(frozen=True)
class FieldError:
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return MESSAGES[self.code] % dict(self.params)

    def __str__(self) -> str:
        return self.message


def clean(
    fields: Iterable[Field],
    raw: Mapping[str, Any],
    *,
    also_required: Iterable[str] = (),
    units: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, FieldError]]:
    """Return (values, errors). Values hold every declared field (None when left empty)."""
    values: dict[str, Any] = {}
    errors: dict[str, FieldError] = {}
    extra = set(also_required)
    for f in fields:
        value = raw.get(f.id)
        if f.type == "file":
            try:
                values[f.id] = _clean_files(f, value, required=f.required or f.id in extra)
            except _Invalid as exc:
                errors[f.id] = exc.error
            continue
        if isinstance(value, (list, tuple)):
            value = value[-1] if value else None
        try:
            values[f.id] = _clean_one(f, value, required=f.required or f.id in extra, units=units or {})
        except _Invalid as exc:
            errors[f.id] = exc.error
    return values, errors


class _Invalid(Exception):
    def __init__(self, code: str, **params: Any):
        self.error = FieldError(code, params)


def _clean_files(f: Field, value: Any, *, required: bool) -> tuple[CleanFile, ...] | None:
    """A file field: each file's type is what its bytes show (a PNG renamed .pdf is a PNG; an
    EXE renamed .jpg is refused), each within ``max_size``, at most ``max_files`` of them."""
    if value is None or value == "" or value == [] or value == ():
        if required:
            raise _Invalid("required")
        return None
    uploads = list(value) if isinstance(value, (list, tuple)) else [value]
    if not all(isinstance(u, Upload) for u in uploads):
        raise _Invalid("not_file")  # text posted where a file belongs: a hand-made request
    limit = f.max_files or 1
    if len(uploads) > limit:
        raise _Invalid("too_many_files", max=limit)
    accept = f.accept or DEFAULT_ACCEPT
    cleaned = []
    for upload in uploads:
        name = display_name(upload.name)
        if not upload.content:
            raise _Invalid("file_empty", name=name)
        if f.max_size is not None and len(upload.content) > f.max_size:
            raise _Invalid("file_too_large", name=name, max=human_size(f.max_size))
        mime = sniff(upload.content)
        if mime is None or mime not in KNOWN_TYPES or not accepts(accept, mime):
            raise _Invalid("file_type", name=name, found=KNOWN_TYPES.get(mime or "", mime or "unknown"),
                           accept=", ".join(_accept_names(accept)))
        cleaned.append(CleanFile(name, mime, upload.content))
    return tuple(cleaned)


def _accept_names(accept: Iterable[str]) -> list[str]:
    return [KNOWN_TYPES.get(kind) or kind for kind in accept]


def _clean_one(f: Field, value: Any, *, required: bool, units: Mapping[str, str]) -> Any:
    if f.type == "checkbox":
        checked = value is True or (isinstance(value, str) and value.strip().lower() in _TRUE)
        if required and not checked:
            raise _Invalid("required")
        return checked
    text = "" if value is None else str(value)
    if _CONTROL_RE.search(text):
        raise _Invalid("control_chars")
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        if required:
            raise _Invalid("required")
        return None
    if f.type in ("text", "textarea", "email", "tel"):
        limit = min(f.max_length or MAX_TEXT, MAX_TEXT)
        if len(text) > limit:
            raise _Invalid("too_long", max=limit)
        if f.type == "text":
            text = " ".join(text.split())  # one line: newlines and tabs pasted in are folded
        if f.type == "email" and not _EMAIL_RE.fullmatch(text):
            raise _Invalid("not_email")
        if f.type == "tel" and not _PHONE_RE.fullmatch(text):
            raise _Invalid("not_phone")
        return text
    if f.type == "number":
        try:
            number = Decimal(text.replace(",", "."))
        except InvalidOperation:
            raise _Invalid("not_number") from None
        # A huge exponent ("1e999999999") would make int() below build a billion-digit number.
        if not number.is_finite() or number.adjusted() > 30:
            raise _Invalid("not_number")
        if f.min is not None and number < Decimal(str(f.min)):
            raise _Invalid("too_small", min=f.min)
        if f.max is not None and number > Decimal(str(f.max)):
            raise _Invalid("too_large", max=f.max)
        return int(number) if number == number.to_integral_value() else float(number)
    if f.type == "date":
        if not _DATE_RE.fullmatch(text):  # fromisoformat also takes 20261225 and 2026-W52-5
            raise _Invalid("not_date")
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            raise _Invalid("not_date") from None
    if f.type == "select":
        if text not in {o.value for o in f.options}:
            raise _Invalid("not_option")
        return text
    if f.type == "unit":
        if text not in units:
            raise _Invalid("not_unit")
        return text
    raise AssertionError(f"unknown field type {f.type}")  # pragma: no cover - the schema forbids it
