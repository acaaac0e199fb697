"""The Flask front end: a thin shell over ``runner.services``.

``create_app`` follows Flask's tutorial (flaskr) shape: configuration from the environment (or a
test mapping), blueprints imported inside the factory, one database session per request closed on
teardown. Views translate HTTP to service calls and service errors to HTTP; rules live in runner/.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Mapping

from flask import Flask

from runner.errors import ConfigurationError, DefinitionError
from runner.store import default_url

LANGUAGES = ("id", "en")


def _secret_key(instance_path: str) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the instance folder."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_path=os.environ.get("SOP_INSTANCE_PATH") or str(Path.cwd() / "instance"))
    app.config.from_mapping(
        SOP_DATABASE_URL=default_url(),
        SOP_DEFINITIONS=os.environ.get("SOP_DEFINITIONS") or str(Path.cwd() / "sop_definitions"),
        BABEL_DEFAULT_LOCALE="id",
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("SOP_SECURE_COOKIES", "") == "1",
        MAX_CONTENT_LENGTH=1_000_000,
        WTF_CSRF_TIME_LIMIT=None,
    )
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(app.instance_path)

    from . import db, i18n

    try:
        db.init_app(app)
    except (DefinitionError, ConfigurationError) as exc:
        raise SystemExit(f"SOP Runner cannot start:\n{exc}\nhint: run `sop validate` on your definitions "
                         "and check SOP_DATABASE_URL / SOP_DEFINITIONS") from None
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
