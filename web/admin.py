"""Admin pages: every SOP's stored versions, one version's YAML, a diff of two, and the editor that
checks, dry-runs and publishes a definition from the browser.

Only accounts with the admin capability (``runner.access.may_administer``) get past
``_require_admin``; everyone else signed in gets a plain 403 page, the signed-out the login page.
The views translate HTTP to ``runner.services.versions`` / ``drafts`` calls; nothing is saved
before "Terbitkan", and the unsaved text travels in the form itself.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import BuildError
from werkzeug.wrappers.response import Response as BaseResponse

from runner.diagram import diagram, graphviz_available
from runner.errors import DefinitionError, InvalidInput
from runner.services import drafts, versions

from . import db
from .auth import admins_only
from .staff import _Id

log = logging.getLogger(__name__)
bp = Blueprint("admin", __name__, url_prefix="/admin")
View = str | BaseResponse | tuple[str, int]

# A typed text and an uploaded file may each be as large as the loader accepts (and a little more, so
# that one just over the limit gets the loader's own message rather than the 413 page).
FORM_FIELD_LIMIT = drafts.MAX_BYTES + 64_000
REQUEST_LIMIT = 2 * FORM_FIELD_LIMIT + 64_000
EDITOR_ENDPOINTS = ("admin.edit", "admin.edit_new")


@bp.record_once
def _register_converter(state: BlueprintSetupState) -> None:
    state.app.url_map.converters.setdefault("id", _Id)


@bp.url_value_preprocessor
def _editor_limits(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    """The editor takes a whole definition in a form field (Flask's default allows 500 kB there).

    Set here because URL value preprocessors run before every ``before_request`` function, and
    flask-wtf's CSRF check (an app-wide one) is what first reads the form."""
    if endpoint in EDITOR_ENDPOINTS:
        request.max_content_length = REQUEST_LIMIT
        request.max_form_memory_size = FORM_FIELD_LIMIT


admins_only(bp, lambda: _(
    "These pages publish SOP versions and are open to administrators only. Your account does not "
    "have the administrator capability; nothing was changed."))


@bp.route("/")
def index() -> View:
    sops = versions.sop_versions(db.session(), db.registry())
    return render_template("admin/index.html", sops=sops, one=None)


@bp.route("/sop/<sop_id>")
def sop(sop_id: str) -> View:
    sops = versions.sop_versions(db.session(), db.registry(), sop_id)  # NotFound: 404
    return render_template("admin/index.html", sops=sops, one=sop_id)


def _url(endpoint: str, **values: Any) -> str | None:
    """The address of another blueprint's page (the official documents'), or None without it."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


@bp.route("/versi/<id:definition_id>")
def version(definition_id: int) -> View:
    detail = versions.version_detail(db.session(), db.registry(), definition_id)
    return render_template("admin/version.html", d=detail, has_dot=graphviz_available(),
                           document_url=_url("documents.document", definition_id=definition_id),
                           document_svg_url=_url("documents.document_svg_file", definition_id=definition_id))


@bp.route("/versi/<id:definition_id>/diagram.<fmt>")
def version_diagram(definition_id: int, fmt: str) -> View:
    """The version's state diagram as a text file: Mermaid (``.mmd``) or Graphviz DOT (``.dot``). (The
    official document's flowchart tables, as SVG, are the documents blueprint's.)"""
    kinds = {"mmd": ("mermaid", "text/vnd.mermaid"), "dot": ("dot", "text/vnd.graphviz")}
    if fmt not in kinds or (fmt == "dot" and not graphviz_available()):
        return render_template("error.html", title=_("Not found"), message=_("There is no page at this address.")), 404
    detail = versions.version_detail(db.session(), db.registry(), definition_id)
    engine, mimetype = kinds[fmt]
    text = diagram(detail.sop, engine)  # ConfigurationError for DOT without graphviz: the link is not offered
    name = f"{detail.row.sop_id}-{detail.row.short}.{fmt}"
    return Response(text, mimetype=f"{mimetype}; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/beda/<id:old_id>/<id:new_id>")
def diff(old_id: int, new_id: int) -> View:
    d = versions.diff_versions(db.session(), db.registry(), old_id, new_id)
    return render_template("admin/diff.html", d=d)


# -- the editor -----------------------------------------------------------------------------------
STALE = {
    "not checked": lambda: _("The text had not been checked. It is checked now: review the result and publish again."),
    "text changed": lambda: _("The text was changed after it was checked. It is checked again now: review the result "
                              "and publish again."),
    "does not pass": lambda: _("Checked again, this text can no longer be published as it is: see below."),
    "version published": lambda: _("Another version of this SOP was published after your check. Your text is "
                                   "checked again against it: review the result and publish again."),
    "dry run changed": lambda: _("Cases moved, or the options changed, after your check, so the dry run is "
                                 "different now. Review it and publish again."),
}


@bp.route("/sunting", methods=["GET", "POST"], endpoint="edit_new")
@bp.route("/sunting/<sop_id>", methods=["GET", "POST"])
def edit(sop_id: str | None = None) -> View:
    s = db.session()
    current = None
    if sop_id is not None:
        current = versions.sop_versions(s, db.registry(), sop_id)[0]  # NotFound: 404
    if request.method == "GET":
        text = ""
        if current is not None:
            start = request.args.get("dari", type=int)  # "from this version"; else the current one
            known = {v.definition_id for v in current.versions}
            text = versions.version_detail(s, db.registry(), start if start in known else _current_or_newest(current)).source
        return _editor(text, sop_id=sop_id)
    try:
        form = request.form.to_dict()
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        return _editor("", sop_id=sop_id, message=_too_large(), status=413)
    path = drafts.UPLOAD  # stored as the version's source: it came from the browser, not from a file on disk
    try:
        options = drafts.Options(keep_stranded=form.get("keep_stranded") == "1",
                                 effective=drafts.parse_effective(form.get("effective")))
    except InvalidInput:
        return _editor(form.get("source", ""), sop_id=sop_id, status=400,
                       message=_("The effective date must be a date (day, month and year)."))
    text = form.get("source", "")
    if upload is not None and upload.filename:
        try:
            text = drafts.decode_upload(upload.stream.read(drafts.MAX_BYTES + 1))
        except DefinitionError as exc:
            check = drafts.DraftCheck("", None, tuple(exc.problems), options=options)
            return _editor("", sop_id=sop_id, check=check, status=400,
                           message=_("The uploaded file cannot be read as a definition."))
    if drafts.oversized(text):
        return _editor("", sop_id=sop_id, message=_too_large(), status=413)
    if form.get("do") == "publish" and not (upload is not None and upload.filename):
        with db.transaction() as t:
            done = drafts.publish_draft(t, db.registry(), text, by=current_user.username, path=path,
                                        options=options, checked=drafts.Stamp.from_form(form))
        if isinstance(done, drafts.DraftCheck):
            messages = [STALE[r]() for r in done.stale if r in STALE]
            return _editor(done.text, sop_id=sop_id, check=done, message=" ".join(messages), status=409)
        if done.pending:
            flash(_("Published: %(sop)s version %(version)s, effective from %(when)s. New cases start on it from "
                    "then, and running cases move to it then.", sop=done_sop(done), version=done.version[:12],
                    when=form.get("effective", "")))
        else:
            flash(_("Published: %(sop)s version %(version)s. %(moved)d case(s) moved to it, %(kept)d kept on "
                    "their version.", sop=done_sop(done), version=done.version[:12], moved=len(done.moved),
                    kept=len(done.kept)))
        return redirect(url_for("admin.sop", sop_id=done_sop(done)))
    check = drafts.check_draft(s, db.registry(), text, path=path, options=options)
    return _editor(check.text, sop_id=sop_id, check=check, status=200 if check.sop is not None else 400)


def done_sop(done: Any) -> str:
    """The SOP id of a publication (read from the stored row: the result names only its id)."""
    from runner.store import Definition

    row = db.session().get(Definition, done.definition_id)
    return row.sop_id if row is not None else ""


def _current_or_newest(current: versions.SopVersions) -> int:
    return next((v.definition_id for v in current.versions if v.current), current.versions[0].definition_id)


def _too_large() -> str:
    return _("The definition is larger than %(limit)s bytes, the most a definition may be. Nothing was saved.",
             limit=f"{drafts.MAX_BYTES:,}")


def _document_preview(check: drafts.DraftCheck | None) -> Markup | None:
    """The official document of the unsaved text (helper module ``runner.document``), when it loads.

    Its HTML is built and escaped by the renderer. A renderer fault must not cost the admin the
    check they asked for: it is logged with its traceback and the preview left out."""
    if check is None or check.sop is None:
        return None
    try:
        from runner.document import document_body

        return Markup(document_body(check.sop, locale=str(get_locale())))
    except Exception:  # noqa: BLE001 - any renderer fault; logged, the page still answers
        log.exception("admin.preview_failed: the document of a checked text could not be rendered")
        return None


def _editor(text: str, *, sop_id: str | None, check: drafts.DraftCheck | None = None, message: str = "",
            status: int = 200) -> tuple[str, int]:
    return render_template("admin/editor.html", text=text, sop_id=sop_id, check=check, message=message,
                           document_preview=_document_preview(check), max_bytes=drafts.MAX_BYTES,
                           document_css=_url("documents.document_css", orientation="portrait")), status
