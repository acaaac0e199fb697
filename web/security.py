"""Security headers on every response the app sends.

- ``Content-Security-Policy``: scripts, styles, images, fonts and form targets from this origin only;
  no inline script or style (the one script is ``static/app.js``), no plugins, never framed.
- ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` (the CSP's frame-ancestors for old
  browsers), ``Referrer-Policy: same-origin`` (tracking codes in ``/lacak?kode=…`` never leave the site),
  ``Cross-Origin-Opener-Policy: same-origin``.
- ``Cache-Control: no-store`` on every page: staff pages, the login page, the report form and the
  tracking page hold personal data that must not stay in a shared computer's cache or a proxy.
  Static files (``/static/…``) keep Flask's own caching headers.
- ``Strict-Transport-Security`` only when cookies are HTTPS-only (``SOP_SECURE_COOKIES=1``, i.e.
  ``SESSION_COOKIE_SECURE``): the site is then known to be served over HTTPS.
- No ``Server`` header from the app. The WSGI server adds its own; ``web/gunicorn_conf.py`` (used by
  ``make serve`` and the README's command) keeps gunicorn's from naming it.

Written by hand rather than with Flask-Talisman: a dozen lines, no extra dependency, and the
no-store rule (which Talisman does not have) sits next to the others.
"""

from __future__ import annotations

from flask import Flask, Response, request

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HSTS = "max-age=31536000"  # one year; subdomains are left alone (they may be other agencies' sites)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def init_app(app: Flask) -> None:
    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers[name] = value
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers["Strict-Transport-Security"] = HSTS
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
            response.headers.pop("Expires", None)
            response.headers.pop("Pragma", None)
        response.headers.pop("Server", None)
        return response
