"""The official SOP document of each stored version: a page, and its PDF and SVG downloads.

Addresses name the ``definitions`` row (``/sop/<id>/dokumen``), so a case's page links to the exact
version that case runs under. Every signed-in staff account may read them (admins included): an
SOP is a public procedure, and nothing of a case is on it. Rendering is ``runner.document``'s; this
module only turns HTTP into calls and answers.
"""

from __future__ import annotations

from typing import cast

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import get_locale
from flask_login import login_required

from runner.document import Orientation, document_body, document_svg, stylesheet
from runner.services.documents import StoredSop, stored_sop

from . import db

bp = Blueprint("documents", __name__)
ORIENTATIONS = ("portrait", "landscape")


@bp.before_request
@login_required
def _require_login() -> None:
    return None


def _stored(definition_id: int) -> StoredSop:
    return stored_sop(db.session(), db.registry(), definition_id)  # NotFound -> the 404 page


def _orientation() -> Orientation:
    value = request.args.get("orientation", "portrait")
    if value not in ORIENTATIONS:
        abort(404)
    return cast(Orientation, value)


def _download(data: bytes | str, mimetype: str, filename: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/sop/<id:definition_id>/dokumen")
def document(definition_id: int):
    stored = _stored(definition_id)
    orientation = _orientation()
    locale = str(get_locale())
    body = document_body(stored.sop, locale=locale, orientation=orientation)  # escaped by runner.document
    return render_template("staff/document.html", stored=stored, body=body, orientation=orientation,
                           other="landscape" if orientation == "portrait" else "portrait")


@bp.route("/sop/<id:definition_id>/dokumen.pdf")
def document_pdf(definition_id: int) -> Response:
    from runner.document.pdf import document_pdf as pdf  # WeasyPrint is loaded only when a PDF is asked for

    stored = _stored(definition_id)
    data = pdf(stored.sop, locale=str(get_locale()), orientation=_orientation())
    return _download(data, "application/pdf", f"{stored.filename}.pdf")


@bp.route("/sop/<id:definition_id>/dokumen.svg")
def document_svg_file(definition_id: int) -> Response:
    stored = _stored(definition_id)
    data = document_svg(stored.sop, locale=str(get_locale()), orientation=_orientation())
    return _download(data, "image/svg+xml", f"{stored.filename}.svg")


@bp.route("/sop/dokumen-<orientation>.css")
def document_css(orientation: str) -> Response:
    """The document's stylesheet, the same text the standalone file inlines (the app's CSP allows no
    inline style); ``@page`` carries the paper's orientation."""
    if orientation not in ORIENTATIONS:
        abort(404)
    return Response(stylesheet(cast(Orientation, orientation)), mimetype="text/css")
