"""Pages for citizens, without an account: submit a report, look it up by tracking code."""

from __future__ import annotations

import secrets

from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers.response import Response

from runner import services
from runner.errors import InvalidForm, NotFound

from . import db

bp = Blueprint("public", __name__)
_MAX_REMEMBERED = 20


@bp.route("/")
def home() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("staff.inbox"))
    return render_template("public/home.html", flows=services.public_flows(db.registry()))


@bp.route("/lapor/<sop_id>/<flow_id>", methods=["GET", "POST"])
def submit(sop_id: str, flow_id: str) -> Response | tuple[str, int]:
    sop, flow, actor = services.public_flow(db.registry(), sop_id, flow_id)
    errors: dict[str, Any] = {}
    values: dict[str, Any] = {}
    if request.method == "POST":
        values = request.form.to_dict()
        # A double click or a resubmitted page must not file the report twice: each rendered form
        # carries a one-time nonce, remembered with the code it produced.
        nonce = values.get("nonce", "")
        done = session.get("submitted", {})
        if nonce and nonce in done:
            return redirect(url_for("public.track", kode=done[nonce], baru=1))
        try:
            with db.transaction() as s:
                case = services.start_case(s, db.registry(), sop.id, flow.id, values, actor=actor)
                code = case.tracking_code
            if nonce:
                done = dict(list(done.items())[-(_MAX_REMEMBERED - 1):])
                done[nonce] = code
                session["submitted"] = done
            return redirect(url_for("public.track", kode=code, baru=1))
        except InvalidForm as exc:
            errors = exc.errors
    return render_template("public/submit.html", sop=sop, flow=flow, values=values, errors=errors,
                           nonce=values.get("nonce") or secrets.token_urlsafe(16)), (400 if errors else 200)


@bp.route("/lacak")
def track() -> tuple[str, int]:
    code = request.args.get("kode", "").strip()
    view, missing = None, False
    if code:
        try:
            view = services.track(db.session(), db.registry(), code)
        except NotFound:
            missing = True
    return render_template("public/track.html", code=code, view=view, missing=missing,
                           new=request.args.get("baru") == "1"), (404 if missing else 200)
