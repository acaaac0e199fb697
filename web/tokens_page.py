"""A signed-in user's own API tokens (``/akun/token``): make one (its secret shown once, on the page
that answers the form, never in a flash message that the session cookie would carry), list, revoke."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from runner.errors import InvalidInput, NotFound
from runner.services import tokens

from . import db

bp = Blueprint("tokens", __name__)


@bp.before_request
@login_required
def _require_login() -> None:
    return None


def _page(new: tokens.NewToken | None = None, error: str | None = None, status: int = 200) -> Any:
    rows = tokens.list_tokens(db.session(), current_user.username)
    return render_template("account/tokens.html", rows=rows, new=new, error=error,
                           name=request.form.get("name", "") if error else ""), status


@bp.route("/akun/token")
def index() -> Any:
    return _page()


@bp.route("/akun/token", methods=["POST"])
def create() -> Any:
    try:
        expires = tokens.parse_expiry(request.form.get("expires", ""))
        with db.transaction() as s:
            made = tokens.create_token(s, current_user.username, request.form.get("name", ""), expires_at=expires)
    except InvalidInput as exc:
        return _page(error=_("The token was not made: %(reason)s", reason=str(exc)), status=400)
    return _page(new=made, status=201)


@bp.route("/akun/token/<id:token_id>/cabut", methods=["POST"])
def revoke(token_id: int) -> Any:
    try:
        with db.transaction() as s:
            tokens.revoke_token(s, token_id, user_id=int(current_user.id))
    except NotFound:
        return render_template("error.html", title=_("Not found"),
                               message=_("There is nothing here by that name."), status=404), 404
    flash(_("The token was revoked; it no longer works."))
    return redirect(url_for("tokens.index"))
