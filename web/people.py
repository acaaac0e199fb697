"""Admin pages for people: units, accounts, their roles and passwords, and acting officials (Plt/Plh).

Only accounts with the admin capability (``runner.access.may_administer``) get in (403 for the
other signed-in, the login page for the signed-out). The views translate HTTP to
``runner.services.people`` and ``runner.services.delegations`` — the same calls the CLI makes — and
show a refusal's message on the page it came from; nothing here decides who may do what.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers.response import Response as BaseResponse

from runner.definition import Text
from runner.errors import InvalidInput, NotFound
from runner.services import delegations, outbox, people

from . import db
from .auth import admins_only

bp = Blueprint("people", __name__, url_prefix="/admin/orang")
View = str | BaseResponse | tuple[str, int]


admins_only(bp, lambda: _(
    "These pages manage units and accounts and are open to administrators only. Nothing was changed."))


def _form(name: str, limit: int = 1000) -> str:
    """A form field as typed, cut to a length no honest form sends (the services say what is wrong)."""
    return (request.form.get(name) or "")[:limit]


def _back(username: str | None = None) -> BaseResponse:
    if username:
        return redirect(url_for("people.account", username=username))
    return redirect(url_for("people.index"))


def _refused(exc: Exception) -> None:
    flash(_("Not saved: %(reason)s", reason=str(exc)))


@bp.route("/")
def index() -> View:
    return render_template("admin/people.html", people=people.people(db.session(), db.registry()))


@bp.route("/unit", methods=["POST"])
def create_unit() -> View:
    try:
        with db.transaction() as s:
            name = people.create_unit(s, _form("unit_id", 100), _form("name", 400)).name
        flash(_("Unit %(name)s created.", name=name))
    except (InvalidInput, NotFound) as exc:
        _refused(exc)
    return _back()


@bp.route("/unit/<unit_id>", methods=["POST"])
def rename_unit(unit_id: str) -> View:
    try:
        with db.transaction() as s:
            name = people.rename_unit(s, unit_id, _form("name", 400)).name
        flash(_("Unit renamed: %(name)s.", name=name))
    except (InvalidInput, NotFound) as exc:
        _refused(exc)
    return _back()


@bp.route("/akun", methods=["POST"])
def create_account() -> View:
    username = _form("username", 100)
    try:
        with db.transaction() as s:
            user = people.create_account(
                s, db.registry(), username, _form("password"), roles=[r[:64] for r in request.form.getlist("role")],
                full_name=_form("full_name", 400), unit_id=_form("unit_id", 100) or None,
                admin=request.form.get("admin") == "1").username
        flash(_("Account %(name)s created.", name=user))
        return _back(user)
    except (InvalidInput, NotFound) as exc:
        _refused(exc)
    return _back()


@bp.route("/akun/<username>")
def account(username: str) -> View:
    session = db.session()
    user = people.find_user(session, username)  # NotFound: 404
    overview = people.people(session, db.registry())
    rows = delegations.list_delegations(session, db.registry(), user_id=user.id)
    return render_template("admin/person.html", user=user, people=overview, delegations=rows, generated=None)


@bp.route("/akun/<username>/aktif", methods=["POST"])
def set_active(username: str) -> View:
    active = request.form.get("active") == "1"
    if not active and username == current_user.username:
        flash(_("Not saved: you cannot disable your own account."))
        return _back(username)
    try:
        with db.transaction() as s:
            name = people.set_account_active(s, username, active).username
        flash(_("Account %(name)s enabled.", name=name) if active else
              _("Account %(name)s disabled; its sessions are ended.", name=name))
    except (InvalidInput, NotFound) as exc:
        _refused(exc)
    return _back(username)


@bp.route("/akun/<username>/sandi", methods=["POST"])
def reset_password(username: str) -> View:
    generate = request.form.get("generate") == "1"
    try:
        with db.transaction() as s:
            new = people.reset_password(s, username, None if generate else _form("password"))
            name = people.find_user(s, username).username
    except (InvalidInput, NotFound) as exc:
        _refused(exc)
        return _back(username)
    if not generate:
        flash(_("Password of %(name)s changed; its sessions are ended.", name=name))
        return _back(name)
    # A generated password is shown once, in this response only: never in a flash (the session cookie).
    session = db.session()
    user = people.find_user(session, name)
    rows = delegations.list_delegations(session, db.registry(), user_id=user.id)
    return render_template("admin/person.html", user=user, people=people.people(session, db.registry()),
                           delegations=rows, generated=new)


@bp.route("/akun/<username>/peran", methods=["POST"])
def set_roles(username: str) -> View:
    try:
        with db.transaction() as s:
            user = people.set_roles(s, db.registry(), username, _role_specs(), _form("unit_id", 100) or None).username
        flash(_("Roles of %(name)s saved.", name=user))
    except (InvalidInput, NotFound) as exc:
        _refused(exc)
    return _back(username)


def _role_specs() -> list[str]:
    """The ticked roles as ``services.accounts.split_role`` spells them: ``role@unit`` when a unit of
    its own was chosen beside the role."""
    specs = []
    for role in request.form.getlist("role"):
        own = _form(f"unit_for.{role[:64]}", 100)
        specs.append(f"{role[:64]}@{own}" if own else role[:64])
    return specs


@bp.route("/akun/<username>/email", methods=["POST"])
def set_email(username: str) -> View:
    try:
        with db.transaction() as s:
            user = outbox.set_account_email(s, people.find_user(s, username), _form("email", 400))
            name, email = user.username, user.email
        flash(_("Email of %(name)s saved.", name=name) if email else _("Email of %(name)s removed.", name=name))
    except (InvalidInput, NotFound) as exc:
        _refused(exc)
    return _back(username)


@bp.route("/delegasi", methods=["POST"])
def delegate() -> View:
    role = _form("role", 64)
    try:
        with db.transaction() as s:
            tz = delegations.role_timezone(s, db.registry(), role)
            row = delegations.delegate(
                s, db.registry(), current_user.actor, role=role, unit_id=_form("unit_id", 100) or None,
                to=_form("to", 100), starts_at=delegations.parse_time(_form("starts", 40), tz),
                ends_at=delegations.parse_time(_form("ends", 40), tz, end_of_day=True),
                reason=_form("reason", 2000), kind=_form("kind", 8) or "plh",
                holder=_form("holder", 100) or None, created_by=current_user.username).id
        flash(_("Delegation %(id)d saved.", id=row))
    except (InvalidInput, NotFound) as exc:
        _refused(exc)
    return _back(_form("next_user", 100) or None)


@bp.route("/delegasi/<int:delegation_id>/cabut", methods=["POST"])
def revoke(delegation_id: int) -> View:
    _revoke(delegation_id)
    return _back(_form("next_user", 100) or None)


def _revoke(delegation_id: int) -> None:
    """Revoke for the current user (the service decides whether they may), saying what happened."""
    try:
        with db.transaction() as s:
            delegations.revoke(s, delegation_id, current_user.actor)
        flash(_("Delegation %(id)d revoked: it has ended.", id=delegation_id))
    except (InvalidInput, NotFound) as exc:
        _refused(exc)


# -- a holder lends their own role (no admin capability needed) --------------------------------------
acting_bp = Blueprint("acting", __name__, url_prefix="/wakil")


@acting_bp.before_request
@login_required
def _signed_in() -> None:
    return None


def _own_roles() -> list[tuple[str, Text | str, bool]]:
    """The roles the signed-in account holds itself (a delegate cannot lend a role further)."""
    return [r for r in people.internal_roles(db.session(), db.registry()) if r[0] in current_user.actor.roles]


@acting_bp.route("/")
def mine() -> View:
    session = db.session()
    rows = delegations.list_delegations(session, db.registry(), user_id=int(current_user.id))
    return render_template("acting.html", rows=rows, roles=_own_roles(), unit_id=current_user.unit_id)


@acting_bp.route("/", methods=["POST"])
def lend() -> View:
    role = _form("role", 64)
    try:
        with db.transaction() as s:
            tz = delegations.role_timezone(s, db.registry(), role)
            number = delegations.delegate(
                s, db.registry(), current_user.actor, role=role, unit_id=current_user.unit_id if _scoped(role) else None,
                to=_form("to", 100), starts_at=delegations.parse_time(_form("starts", 40), tz),
                ends_at=delegations.parse_time(_form("ends", 40), tz, end_of_day=True),
                reason=_form("reason", 2000), kind=_form("kind", 8) or "plh", created_by=current_user.username).id
        flash(_("Delegation %(id)d saved.", id=number))
    except (InvalidInput, NotFound) as exc:
        _refused(exc)
    return redirect(url_for("acting.mine"))


def _scoped(role: str) -> bool:
    return any(rid == role and scoped for rid, _name, scoped in people.internal_roles(db.session(), db.registry()))


@acting_bp.route("/<int:delegation_id>/cabut", methods=["POST"])
def revoke_own(delegation_id: int) -> View:
    _revoke(delegation_id)
    return redirect(url_for("acting.mine"))
