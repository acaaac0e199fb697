"""Logging set-up shared by the app and the CLI, and the one way the runner writes an event.

Each module logs through ``logging.getLogger(__name__)``; ``configure`` is called once by
``create_app`` and by the CLI (with the values of ``runner.settings``) and installs one handler on
the root logger:

* ``SOP_LOG_LEVEL`` (default ``INFO``) sets the level of the ``runner`` and ``web`` loggers; other
  libraries stay at WARNING so SQLAlchemy or Werkzeug chatter does not drown the events.
* ``SOP_LOG_FORMAT=json`` writes one JSON object a line (for a log shipper); anything else a line of
  text: ``time level logger [request id] message``.

Every line written while a request is served carries that request's id (``X-Request-ID`` when the
client or proxy sent a sane one, else a new one), held in a context variable so threads and async
workers do not mix them up.

Events are written with ``event(logger, "step.performed", case=…, …)``: a stable name and fields that
are ids, codes of the definition and numbers — never a reporter's name, contact, free text or
tracking code, and never a value typed into a form. The fields go into the JSON object as keys and
into the text line as ``key=value``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from contextvars import ContextVar

REQUEST_ID: ContextVar[str] = ContextVar("sop_request_id", default="-")
_OURS = ("runner", "web")
_MARK = "_sop_runner_handler"


def _install_record_factory() -> None:
    """Every LogRecord, whoever creates it, carries the current request id (``-`` outside one)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, _MARK, False):
        return

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = REQUEST_ID.get()
        return record

    setattr(factory, _MARK, True)
    logging.setLogRecordFactory(factory)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, request id, message, event and its fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", REQUEST_ID.get()),
            "message": record.getMessage(),
        }
        name = getattr(record, "event", None)
        if name:
            out["event"] = name
            fields = getattr(record, "fields", {})
            out.update({k: v for k, v in fields.items() if k not in out})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is now (test runners and gunicorn swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def configure(level: str = "INFO", fmt: str = "text") -> None:
    """Install (or replace) SOP Runner's handler; safe to call more than once.

    ``level`` and ``fmt`` come from ``Settings`` (``SOP_LOG_LEVEL``, ``SOP_LOG_FORMAT``)."""
    level_name = (level or "INFO").upper()
    if level_name not in logging.getLevelNamesMapping():
        level_name = "INFO"
    _install_record_factory()
    handler = _Stderr()
    setattr(handler, _MARK, True)
    if (fmt or "text").lower() == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    for name in _OURS:
        logging.getLogger(name).setLevel(level_name)


def _plain(value: object) -> str:
    """A field as one safe token of a text line: control characters escaped, so no value can forge
    a second log line."""
    text = str(value)
    return text.translate(_ESCAPES) if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text) else text


_ESCAPES = {i: f"\\x{i:02x}" for i in [*range(0x20), 0x7F]}


def event(logger: logging.Logger, name: str, level: int = logging.INFO, /, **fields: object) -> None:
    """Log event ``name`` with ``fields`` (ids and numbers only; see the module docstring)."""
    if not logger.isEnabledFor(level):
        return
    text = " ".join(f"{k}={_plain(v)}" for k, v in fields.items())
    logger.log(level, "%s %s", name, text, extra={"event": name, "fields": fields})
