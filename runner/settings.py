"""Every setting SOP Runner reads from the environment, read in this one place.

The app (``web.create_app``) and the CLI both start from ``Settings.from_env()``, so a variable
means the same thing to both and the README's table of settings has one source to check against
(``tests/test_docs.py`` fails when a variable read here is not documented).
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from .errors import ConfigurationError


LIMIT_SETTINGS = ("SOP_LIMIT_LOGIN_ACCOUNT", "SOP_LIMIT_LOGIN_ADDRESS", "SOP_LIMIT_REPORT",
                  "SOP_LIMIT_REPORT_POSTS", "SOP_LIMIT_TRACK")  # rate limits, Flask-Limiter notation


@dataclass(frozen=True)
class Settings:
    instance_path: Path
    database_url: str
    definitions: Path
    secret_key: str | None
    secure_cookies: bool
    log_level: str | None  # None: not set (the app logs INFO, the CLI WARNING)
    log_format: str
    new_password: str | None  # for `sop user add` without a prompt
    ratelimit_storage: str = "memory://"  # Flask-Limiter storage URI; memory is per worker process
    limits: Mapping[str, str] = field(default_factory=dict)  # SOP_LIMIT_* set in the environment
    proxy_hops: int = 0  # reverse proxies in front whose X-Forwarded-For/-Proto are trusted
    smtp_url: str | None = None  # where the outbox delivers email (runner.services.outbox); None: not delivered
    mail_from: str = "sop-runner@localhost"  # the From address of every email
    public_url: str | None = None  # the site's address as people reach it, for links in emails
    # Where attached files are kept (outside the web root; back it up with the database), and the
    # largest request a form carrying files may send (bytes; each field's own limits apply within it).
    uploads: Path | None = None  # None: instance_path / "uploads"
    upload_limit: int = 25 * 1024 * 1024

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> "Settings":
        environ = os.environ if environ is None else environ
        here = cwd or Path.cwd()
        instance = Path(environ.get("SOP_INSTANCE_PATH") or here / "instance").resolve()
        return cls(
            instance_path=instance,
            database_url=environ.get("SOP_DATABASE_URL") or f"sqlite:///{instance / 'sop.db'}",
            definitions=Path(environ.get("SOP_DEFINITIONS") or here / "sop_definitions"),
            secret_key=environ.get("SECRET_KEY") or None,
            secure_cookies=environ.get("SOP_SECURE_COOKIES", "") == "1",
            log_level=environ.get("SOP_LOG_LEVEL") or None,
            log_format=environ.get("SOP_LOG_FORMAT") or "text",
            new_password=environ.get("SOP_NEW_PASSWORD") or None,
            ratelimit_storage=environ.get("SOP_RATELIMIT_STORAGE") or "memory://",
            limits={name: value for name in LIMIT_SETTINGS if (value := environ.get(name, "").strip())},
            proxy_hops=_hops(environ.get("SOP_PROXY_HOPS")),
            smtp_url=environ.get("SOP_SMTP_URL", "").strip() or None,
            mail_from=environ.get("SOP_MAIL_FROM", "").strip() or "sop-runner@localhost",
            public_url=environ.get("SOP_PUBLIC_URL", "").strip().rstrip("/") or None,
            uploads=Path(environ.get("SOP_UPLOADS") or instance / "uploads").resolve(),
            upload_limit=_megabytes(environ.get("SOP_UPLOAD_LIMIT_MB")),
        )

    @property
    def uploads_dir(self) -> Path:
        return self.uploads or self.instance_path / "uploads"


def _megabytes(value: str | None) -> int:
    text = (value or "").strip()
    if not text:
        return 25 * 1024 * 1024
    if not re.fullmatch(r"[0-9]{1,4}", text) or int(text) < 1:
        raise ConfigurationError(f"SOP_UPLOAD_LIMIT_MB={value!r} is not a whole number of megabytes",
                                 hint="set it to the largest request with files to accept, in MB (default 25)")
    return int(text) * 1024 * 1024


def _hops(value: str | None) -> int:
    text = (value or "").strip()
    if not text:
        return 0
    if not re.fullmatch(r"[0-9]{1,3}", text):
        raise ConfigurationError(f"SOP_PROXY_HOPS={value!r} is not a number",
                                 hint="set it to the number of reverse proxies in front of the app (0: none)")
    return int(text)


def instance_secret_key(instance: Path) -> str:
    """The key kept in ``instance/secret_key`` when SECRET_KEY is not set, made by the first process.

    Several workers starting at once must end with one key, never an empty or a different one: each
    writes its candidate to a private temporary file and hard-links it into place, which succeeds
    for exactly one of them; everyone then reads the file that won, which is complete when it appears."""
    path = instance / "secret_key"
    for _ in range(20):
        try:
            key = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            key = ""
        if key:
            return key
        instance.mkdir(parents=True, exist_ok=True)
        candidate = instance / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        candidate.write_text(secrets.token_hex(32), encoding="ascii")
        candidate.chmod(0o600)
        try:
            os.link(candidate, path)
        except FileExistsError:
            pass  # another process won; read its key on the next round
        except OSError as exc:  # a filesystem without hard links, a read-only instance folder
            raise ConfigurationError(f"cannot create {path} ({exc.strerror or exc})",
                                     hint="set SECRET_KEY (the same for every worker)") from None
        finally:
            candidate.unlink(missing_ok=True)
    raise ConfigurationError(f"cannot create or read {path}", hint="set SECRET_KEY (the same for every worker)")
