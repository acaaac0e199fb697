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
from pathlib import Path
from typing import Any, Mapping

from flask import Flask

from runner.errors import SopError
from runner.logs import configure as configure_logging
from runner.settings import Settings, instance_secret_key

log = logging.getLogger(__name__)

LANGUAGES = ("id", "en")
CSRF_TIME_LIMIT = 8 * 3600  # seconds


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
        # A form's CSRF token expires: long enough to write an answer, short enough that a page left
        # open overnight, or copied elsewhere, is refused (web/errors.py says so).
        WTF_CSRF_TIME_LIMIT=CSRF_TIME_LIMIT,
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage,
        SOP_PROXY_HOPS=settings.proxy_hops,
        SOP_UPLOADS=str(settings.uploads_dir),  # attached files (web/attachments.py)
        SOP_UPLOAD_LIMIT=settings.upload_limit,
    )
    app.config.from_mapping(dict(settings.limits))  # SOP_LIMIT_* from the environment
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(Path(app.instance_path))

    from . import a11y, db, i18n, requests

    requests.init_app(app)
    try:
        db.init_app(app)
    except SopError as exc:
        log.error("startup.failed: SOP Runner cannot start:\n%s", exc)
        raise
    i18n.init_app(app)
    a11y.init_app(app)  # autofocus on the first invalid field, the error summary's links

    from flask_wtf.csrf import CSRFProtect

    CSRFProtect(app)

    from . import admin, auth, errors, public, security, staff

    auth.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(admin.bp)

    from . import documents  # after staff: its addresses use the `id` converter staff registers

    app.register_blueprint(documents.bp)

    from . import people  # units, accounts and acting officials, under /admin/orang

    app.register_blueprint(people.bp)
    app.register_blueprint(people.acting_bp)

    from . import attachments  # after staff: its addresses use the `id` converter staff registers

    attachments.init_app(app)
    app.register_blueprint(attachments.bp)

    from . import api, tokens_page  # the JSON API under /api/v1 (its OpenAPI at /api/openapi.json)

    api.init_app(app)
    app.register_blueprint(tokens_page.bp)

    from . import citizens, dashboard  # the reporter's response and public list; the leaders' dashboard

    app.register_blueprint(citizens.bp)
    app.register_blueprint(dashboard.bp)

    from . import abuse  # after the API: its report and tracking endpoints share the pages' limits

    abuse.init_app(app)
    hops = int(app.config.get("SOP_PROXY_HOPS") or 0)
    if hops:
        # Behind reverse proxies the client is the hops-th address from the right of X-Forwarded-For;
        # without them only the socket address is trusted (a client can write any header).
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    return app
