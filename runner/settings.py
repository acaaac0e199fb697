"""Every setting SOP Runner reads from the environment, read in this one place.

The app (``web.create_app``) and the CLI both start from ``Settings.from_env()``, so a variable
means the same thing to both and the README's table of settings has one source to check against
(``tests/test_docs.py`` fails when a variable read here is not documented).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping


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
        )
