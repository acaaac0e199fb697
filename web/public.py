"""Pages for citizens, without an account: submit a report, look it up by tracking code."""

from __future__ import annotations

import re
import secrets

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.wrappers.response import Response

from runner import services
from runner.errors import InvalidForm, NotFound
from runner.services import responses

from . import db
from .attachments import form_values
from .attachments import storage as uploads

bp = Blueprint("public", __name__)
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@bp.route("/")
def home() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("staff.inbox"))
    return render_template("public/home.html", flows=services.public_flows(db.session(), db.registry()))


@bp.route("/lapor/<sop_id>/<flow_id>", methods=["GET", "POST"])
def submit(sop_id: str, flow_id: str) -> Response | tuple[str, int]:
    sop, flow, actor = services.public_flow(db.session(), db.registry(), sop_id, flow_id)
    errors: dict[str, Any] = {}
    values: dict[str, Any] = {}
    if request.method == "POST":
        values = request.form.to_dict()
        # A double click, a resent page or twenty concurrent posts of one form file one report: the
        # form's one-time nonce is the submission key, and the database keeps its report unique.
        nonce = values.get("nonce", "")
        key = nonce if _NONCE.match(nonce) else None
        try:
            with db.transaction() as s:
                case = services.start_case(s, db.registry(), sop.id, flow.id, form_values(), actor=actor,
                                           submission_key=key, storage=uploads(),
                                           language=str(get_locale()))  # their emails' language
                code = case.tracking_code
            return redirect(url_for("public.track", kode=code, baru=1))
        except InvalidForm as exc:
            errors = exc.errors
    return render_template("public/submit.html", sop=sop, flow=flow, values=values, errors=errors,
                           nonce=values.get("nonce") or secrets.token_urlsafe(16)), (400 if errors else 200)


@bp.route("/lacak")
def track() -> tuple[str, int]:
    code = request.args.get("kode", "").strip()
    view, missing, response = None, False, None
    if code:
        try:
            view = services.track(db.session(), db.registry(), code)
            response = responses.response_state(db.session(), db.registry(), code)  # web/citizens.py posts it
        except NotFound:
            missing = True
    return render_template("public/track.html", code=code, view=view, missing=missing,
                           new=request.args.get("baru") == "1", response=response,
                           responded=request.args.get("tanggapan") == "1"), (404 if missing else 200)
