"""Login, logout and language choice. Passwords are checked by runner.services.accounts."""

from __future__ import annotations

from typing import Callable
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user

from runner import services
from runner.access import may_administer
from runner.errors import ReadOnly
from runner.forms import has_control_chars

from . import db

bp = Blueprint("auth", __name__)
login_manager = LoginManager()


class SessionUser(UserMixin):
    """What a request knows about its user: enough to act, nothing that needs the database.

    The session stores ``get_id()``, the token "{id}:{session epoch}" (Flask-Login's "alternative
    tokens"): signing out or disabling the account bumps the epoch, so a copied cookie stops working."""

    def __init__(self, user):
        self.id = str(user.id)
        self.token = services.session_token(user)
        self.username = user.username
        self.full_name = user.full_name
        self.unit_id = user.unit_id
        self.actor = services.actor_for(user)
        self.may_administer = may_administer(self.actor)  # the header's "Admin" link; web/admin.py asks again

    def get_id(self) -> str:
        return self.token


@login_manager.user_loader
def load_user(token: str):
    user = services.user_for_session(db.session(), token)
    return SessionUser(user) if user else None


def init_app(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None


def _safe_next(target: str | None) -> str:
    """A path of this site to return to; anything else — another site, "/\\host" (a browser reads it
    as "//host"), control characters a Location header cannot carry — gives the inbox."""
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and not has_control_chars(target) and not urlsplit(target).netloc):
        return target
    return url_for("staff.inbox")


@bp.route("/masuk", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        user = services.authenticate(db.session(), request.form.get("username", ""), request.form.get("password", ""))
        if user is None:
            error = _("Wrong username or password.")
        else:
            login_user(SessionUser(user))
            return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", error=error), (401 if error else 200)


@bp.route("/keluar", methods=["POST"])
@login_required
def logout():
    try:
        with db.transaction() as s:  # every session of this user ends, cookies copied earlier included
            services.end_sessions(s, int(current_user.id))
    except ReadOnly:
        pass  # a read-only copy cannot end other sessions; this browser's is still ended below
    logout_user()
    flash(_("You have signed out."))
    return redirect(url_for("public.home"))


@bp.route("/bahasa/<lang>", methods=["POST"])
def language(lang: str):
    if lang in ("id", "en"):
        session["lang"] = lang
    target = request.form.get("next")
    return redirect(_safe_next(target) if target else url_for("public.home"))


def admins_only(blueprint: Blueprint, explanation: Callable[[], str]) -> None:
    """Every page of ``blueprint`` is for accounts with the admin capability (the access policy's
    ``may_administer``): anyone else signed in gets a plain 403 page with ``explanation()`` (a
    translated text, built per request), and the signed-out the sign-in page."""

    @blueprint.before_request
    @login_required
    def _require_admin() -> tuple[str, int] | None:
        if may_administer(current_user.actor):
            return None
        return render_template("error.html", title=_("Administrators only"), message=explanation()), 403
