"""Login, logout and language choice. Passwords are checked by runner.services.accounts."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, UserMixin, login_required, login_user, logout_user

from runner import services

from . import db

bp = Blueprint("auth", __name__)
login_manager = LoginManager()


class SessionUser(UserMixin):
    """What a request knows about its user: enough to act, nothing that needs the database."""

    def __init__(self, user):
        self.id = str(user.id)
        self.username = user.username
        self.full_name = user.full_name
        self.unit_id = user.unit_id
        self.actor = services.actor_for(user)


@login_manager.user_loader
def load_user(user_id: str):
    try:
        user = services.get_user(db.session(), int(user_id))
    except ValueError:
        return None
    return SessionUser(user) if user else None


def init_app(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
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
    logout_user()
    flash(_("You have signed out."))
    return redirect(url_for("public.home"))


@bp.route("/bahasa/<lang>", methods=["POST"])
def language(lang: str):
    if lang in ("id", "en"):
        session["lang"] = lang
    target = request.form.get("next")
    return redirect(_safe_next(target) if target else url_for("public.home"))
