"""The Flask front end: a thin shell over ``runner.services``.

``create_app`` follows Flask's tutorial (flaskr) shape: configuration from the environment (read in
one place, ``runner.settings``) or a test mapping, blueprints imported inside the factory, one
database session per request closed on teardown. Views translate HTTP to service calls and service
errors to HTTP; rules live in runner/.

A start-up problem (no tables, no definition that loads, a bad URL) raises the runner's own error
with its hint, logged first: under gunicorn a worker that fails to boot makes the arbiter halt with
"Worker failed to boot" instead of respawning workers in a loop.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any, Mapping

from flask import Flask

from runner.errors import SopError
from runner.logs import configure as configure_logging
from runner.settings import Settings

log = logging.getLogger(__name__)

LANGUAGES = ("id", "en")


def _secret_key(instance_path: Path) -> str:
    """A key generated once and kept in the instance folder (when SECRET_KEY is not set)."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    settings = Settings.from_env()
    configure_logging(settings.log_level or "INFO", settings.log_format)
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.from_mapping(
        SOP_DATABASE_URL=settings.database_url,
        SOP_DEFINITIONS=str(settings.definitions),
        SECRET_KEY=settings.secret_key,
        BABEL_DEFAULT_LOCALE="id",
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        MAX_CONTENT_LENGTH=1_000_000,
        WTF_CSRF_TIME_LIMIT=None,
    )
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(Path(app.instance_path))

    from . import db, i18n, requests

    requests.init_app(app)
    try:
        db.init_app(app)
    except SopError as exc:
        log.error("startup.failed: SOP Runner cannot start:\n%s", exc)
        raise
    i18n.init_app(app)

    from flask_wtf.csrf import CSRFProtect

    CSRFProtect(app)

    from . import auth, errors, public, staff

    auth.init_app(app)
    errors.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(staff.bp)
    return app
