"""Attached files: reading them from a multipart form, and downloading them.

Views stay thin: what a download may show is ``runner.services.attachments``' (the access policy
for staff; the tracking code and a public field for the reporter). Every download is sent as
``Content-Disposition: attachment`` with the type its bytes were found to be and ``nosniff``, so
a browser never renders an uploaded file inside the site.

Forms that carry files may send more than the app-wide 1 MB: on the endpoints below a POST may be
up to ``SOP_UPLOAD_LIMIT_MB`` (set in a URL value preprocessor, which Flask runs before the CSRF
check first reads the form); beyond it the 413 page names the limit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, current_app, request, send_file
from flask_login import current_user, login_required
from werkzeug.wrappers.response import Response

from runner.definition.model import DEFAULT_MAX_SIZE
from runner.forms import KNOWN_TYPES, Upload, human_size
from runner.services import attachments
from runner.services.attachments import Storage

from . import db

bp = Blueprint("attachments", __name__)

# The forms that may carry files (their templates use enctype="multipart/form-data").
UPLOAD_ENDPOINTS = frozenset({"public.submit", "staff.case", "staff.new_case"})


def init_app(app: Flask) -> None:
    app.extensions["sop_uploads"] = Storage(Path(app.config["SOP_UPLOADS"]))
    app.jinja_env.filters["filesize"] = lambda size: human_size(int(size or DEFAULT_MAX_SIZE))
    app.jinja_env.filters["filekind"] = lambda kind: KNOWN_TYPES.get(kind, kind)

    @app.url_value_preprocessor
    def _upload_limit(endpoint: str | None, _values: dict[str, Any] | None) -> None:
        if endpoint in UPLOAD_ENDPOINTS and request.method == "POST":
            request.max_content_length = int(app.config["SOP_UPLOAD_LIMIT"])


def storage() -> Storage:
    store: Storage = current_app.extensions["sop_uploads"]
    return store


def form_values() -> dict[str, Any]:
    """The submitted form as the runner reads it: text fields as strings, each file input's chosen
    files as ``Upload`` objects (a file input left empty sends a nameless part: dropped)."""
    values: dict[str, Any] = request.form.to_dict()
    for name in request.files:
        uploads = [Upload(fs.filename or "", fs.read()) for fs in request.files.getlist(name) if fs.filename]
        if uploads:
            values[name] = uploads
    return values


def _send(download: attachments.Download) -> Response:
    response = send_file(download.path, mimetype=download.mime, as_attachment=True,
                         download_name=download.name, conditional=False, etag=False, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/lampiran/<key>")
@login_required
def staff_download(key: str) -> Response:
    """A file of a case, for whoever may see the case (the same 404 as a missing case otherwise)."""
    return _send(attachments.for_staff(db.session(), db.registry(), storage(), key, current_user.actor))


@bp.route("/lacak/lampiran/<key>")
def public_download(key: str) -> Response:
    """A file of a public field, for the holder of the report's tracking code (``?kode=``)."""
    return _send(attachments.for_reporter(db.session(), db.registry(), storage(), request.args.get("kode", ""), key))
