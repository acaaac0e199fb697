"""The `sop` command: validate and inspect definitions, manage the database, accounts and schedule.

Every command prints plain messages and exits non-zero on failure; a definition problem is printed
as ``PATH:LINE:COL: error: MESSAGE`` and never as a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Sequence

from .definition import Field, Official, Sop, Text, check_text, load_text, read_source
from .errors import DefinitionError, SopError
from .logs import configure as configure_logging
from .settings import Settings

if TYPE_CHECKING:  # pragma: no cover
    from .services import Runtime


def _settings() -> Settings:
    return Settings.from_env()


def sop_to_json(sop: Sop) -> dict[str, Any]:
    """The normalised definition for other tools (documented in docs/sop-language.md)."""
    ident = sop.identity

    def official(o: Official | None) -> dict[str, str] | None:
        return {"position": o.position, "name": o.name, "nip": o.nip} if o else None

    def text(t: Text | None) -> str | None:
        return t.get() if t is not None else None  # display text in Bahasa Indonesia, as in the SOP

    return {
        "id": sop.id,
        "title": text(sop.title),
        "version": sop.version,
        "identity": {
            "agency": ident.agency, "name": text(ident.name), "number": ident.number,
            "created": ident.created.isoformat() if ident.created else None,
            "revised": ident.revised.isoformat() if ident.revised else None,
            "effective": ident.effective.isoformat() if ident.effective else None,
            "prepared_by": official(ident.prepared_by), "checked_by": official(ident.checked_by),
            "approved_by": official(ident.approved_by),
            "legal_basis": list(ident.legal_basis), "qualifications": list(ident.qualifications),
            "related_sops": list(ident.related_sops), "equipment": list(ident.equipment),
            "warnings": list(ident.warnings), "recording": list(ident.recording), "remarks": list(ident.remarks),
        },
        "calendar": {"timezone": sop.calendar.timezone,
                     "periods": [{"name": p.name, "from": p.start.isoformat(), "to": p.end.isoformat()}
                                 for p in sop.calendar.periods],
                     "units": [unit for unit, _ in sop.calendar.units]},
        "migration": ({"steps": dict(sop.migration.steps), "data": dict(sop.migration.data)}
                      if sop.migration else None),
        "roles": [{"id": r.id, "name": text(r.name), "unit_scoped": r.unit_scoped, "external": r.external}
                  for r in sop.roles],
        "flows": [{"id": f.id, "name": text(f.name), "start": f.start, "schedule": f.schedule,
                   "started_by": list(f.started_by), "ends": [{"id": e.id, "name": text(e.name)} for e in f.ends]}
                  for f in sop.flows],
        "activities": [
            {
                "no": a.no, "id": a.id, "flow": a.flow, "name": text(a.name), "performers": list(a.performers),
                "recipients": list(a.recipients), "requirements": list(a.requirements),
                "time_limit": ({"text": a.time_limit.text, "duration": a.time_limit.duration.iso(),
                                "advisory": a.time_limit.advisory} if a.time_limit else None),
                "due_soon": a.due_soon.text if a.due_soon else None,
                "escalate_to": list(a.escalation.roles) if a.escalation else None,
                "escalate_after": a.escalation.after.iso() if a.escalation else None,
                "output": a.output, "note": a.note,
                "fields": [_field_json(f, text) for f in a.fields],
                "actions": [{"id": x.id, "label": text(x.label), "to": x.to} for x in a.actions],
            }
            for a in sop.activities
        ],
    }


def _field_json(f: Field, text: Callable[[Text | None], str | None]) -> dict[str, Any]:
    """A field in `sop show --json`: what a form needs to know of it (limits only where they apply)."""
    out: dict[str, Any] = {"id": f.id, "type": f.type, "label": text(f.label), "required": f.required,
                           "public": f.public}
    if f.type == "file":
        out.update(max_files=f.max_files, max_size=f.max_size, accept=list(f.accept))
    if f.prefill is not None:
        out["prefill"] = {"field": f.prefill.field, "activity": f.prefill.activity}
    return out


# -- commands -------------------------------------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> int:
    """Each PATH is a file, or a directory whose *.yaml/*.yml files are checked in sorted order
    (there, as when the app loads the directory, a second file with an id already used is an error).
    Warnings are printed but exit 0, unless ``--strict``: then any warning exits 1."""
    from .definition import duplicate_id, read_source

    status = 0
    for given in args.paths:
        folder = Path(given)
        if folder.is_dir():
            paths = [str(p) for p in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])]
            if not paths:
                print(f"{given}: error: no definition files (*.yaml, *.yml) in this directory")
                status = 1
        else:
            paths = [given]
        owners: dict[str, str] = {}  # SOP id -> the file of this directory that uses it first
        for path in paths:
            try:
                text = read_source(path)  # an oversized file is refused before it is read
            except DefinitionError as exc:
                for p in exc.problems:
                    print(p.format())
                status = 1
                continue
            sop, problems = check_text(text, path)
            for p in problems:
                print(p.format())
            if args.strict and any(p.severity == "warning" for p in problems):
                status = 1  # still loadable (OK is printed), but --strict refuses warnings too
            if sop is not None and folder.is_dir():
                if sop.id in owners:
                    print(duplicate_id(path, text, sop.id, owners[sop.id]).format())
                    sop = None
                else:
                    owners[sop.id] = path
            if sop is None:
                status = 1
            else:
                print(f"{path}: OK")
    return status


def cmd_show(args: argparse.Namespace) -> int:
    sop = load_text(read_source(args.path), args.path)  # problems are printed PATH:LINE:COL by main()
    data = sop_to_json(sop)
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(f"{sop.title.get()}  [{sop.id} @ {sop.version[:12]}]")
        print(f"{sop.identity.agency} — {sop.identity.number}")
        for a in sop.activities:
            limit = f"{a.time_limit.text} ({a.time_limit.duration.iso()})" if a.time_limit else "-"
            print(f"{a.no:>3}. [{', '.join(a.performers)}] {a.name.get()}  ⏱ {limit}")
            for x in a.actions:
                print(f"       → {x.id}: {x.to}")
    return 0


def cmd_diagram(args: argparse.Namespace) -> int:
    from .diagram import diagram, states_of

    sop = load_text(read_source(args.path), args.path)  # problems are printed PATH:LINE:COL by main()
    current = None
    if args.case is not None:
        from .services import case_position
        from .store import make_engine, session_factory

        engine = make_engine(args.database or _settings().database_url)
        try:
            with session_factory(engine)() as session:
                position = case_position(session, args.case)
        finally:
            engine.dispose()
        found = (position.sop_id, position.state, position.version) if position else None
        if found is None:
            print(f"error: no case {args.case}", file=sys.stderr)
            return 1
        sop_id, state, version = found
        if sop_id != sop.id:
            print(f"error: case {args.case} runs SOP '{sop_id}', not '{sop.id}' ({args.path})", file=sys.stderr)
            return 1
        if state not in states_of(sop):
            print(f"error: case {args.case} is in state '{state}', which {args.path} does not have: the case runs on "
                  f"another version of {sop.id} ({version[:12]}, this file is {sop.version[:12]})", file=sys.stderr)
            return 1
        if version != sop.version:
            print(f"note: case {args.case} runs on version {version[:12]} of {sop.id}; drawing {args.path} "
                  f"({sop.version[:12]})", file=sys.stderr)
        current = state
    out = diagram(sop, args.format, current=current)
    if args.output:
        Path(args.output).write_text(out, encoding="utf-8")
    else:
        sys.stdout.write(out)
    return 0


def cmd_document(args: argparse.Namespace) -> int:
    """The official SOP document; OUT's extension picks the format. Exit 2 for an extension it does
    not know or a definition that does not load (nothing is written then)."""
    from .document import FORMATS

    out = Path(args.output)
    ext = out.suffix.lower()
    if ext not in FORMATS:
        print(f"error: {args.output}: unknown document format '{ext or '(none)'}'; "
              f"end OUT with one of: {', '.join(FORMATS)}", file=sys.stderr)
        return 2
    try:
        sop = load_text(read_source(args.path), args.path)
    except DefinitionError as exc:
        for p in exc.problems:
            print(p.format(), file=sys.stderr)
        return 2
    if args.flow is not None and sop.flow(args.flow) is None:
        print(f"error: {sop.id} has no flow '{args.flow}'; its flows are: {', '.join(f.id for f in sop.flows)}",
              file=sys.stderr)
        return 2
    options: dict[str, Any] = {"flow_id": args.flow, "locale": args.lang, "orientation": args.orientation}
    if ext == ".pdf":
        from .document.pdf import document_pdf

        out.write_bytes(document_pdf(sop, **options))
    elif ext == ".html":
        from .document import document_html

        out.write_text(document_html(sop, **options), encoding="utf-8")
    else:
        from .document import document_svg

        out.write_text(document_svg(sop, **options), encoding="utf-8")
    print(f"{args.output}: written")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from .simulate import format_walk, parse_start, simulate

    sop = load_text(read_source(args.path), args.path)  # problems are printed PATH:LINE:COL by main()
    path = [a.strip() for a in args.path_actions.split(",") if a.strip()] if args.path_actions else []
    walk = simulate(sop, flow_id=args.flow, path=path, start=parse_start(args.start, sop))
    print("\n".join(format_walk(walk)))
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    from .starter import new_definition

    text = new_definition(args.id)  # InvalidInput for an id that is not snake_case
    if args.output:
        try:
            with open(args.output, "x", encoding="utf-8") as out:  # "x": never overwrite
                out.write(text)
        except FileExistsError:
            print(f"error: {args.output} already exists; not overwritten", file=sys.stderr)
            return 1
        print(f"{args.output}: written; check it with `sop validate {args.output}`")
    else:
        sys.stdout.write(text)
    return 0


def _open(args: argparse.Namespace, *, strict: bool = False, migrate: bool = False) -> "Runtime":
    """The same start-up as the app's (``services.startup``): database, definitions, fallbacks.

    Every command that opens the runtime writes, so a read-only database is refused here, before a
    password is asked for."""
    from .services import open_runtime

    return open_runtime(args.database or _settings().database_url, args.definitions, strict=strict, migrate=migrate,
                        writes=True)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from .store import make_engine, upgrade

    upgrade(make_engine(args.database or _settings().database_url))
    print("database schema is up to date")
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    from .services import publish_all
    from .store import transaction

    runtime = _open(args, strict=True)  # a broken file is never published
    with transaction(runtime.factory) as session:
        for row in publish_all(session, runtime.registry):
            print(f"{row.sop_id}: version {row.version[:12]} published ({row.source_path})")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .definition import display
    from .services.demo import DemoAccount, seed
    from .services.demo_cases import seed_cases
    from .services.schedule import tick
    from .store import transaction

    runtime = _open(args, strict=True, migrate=True)
    with transaction(runtime.factory) as session:
        accounts = seed(session, runtime.registry)
        tick(session, runtime.registry)
        cases = seed_cases(session, runtime.registry) if args.cases else []
    print("Demo accounts (demo start only; every password is the same):")
    width = max(len(a.username) for a in accounts)
    # Grouped by the SOP a role belongs to (a username is ROLE or ROLE.UNIT), so that with several
    # SOPs the list still reads as "who works which procedure".
    from .services.publishing import current_sops

    with runtime.factory() as session:
        current = list(current_sops(session, runtime.registry).values())
    sop_of = {r.id: display(sop.title) for sop in reversed(current) for r in sop.roles}
    groups: dict[str, list[DemoAccount]] = {}
    for a in accounts:
        groups.setdefault(sop_of.get(a.username.split(".")[0], "Aplikasi"), []).append(a)
    for title, members in groups.items():
        print(f"  {title}:")
        for a in members:
            unit = f"  — {a.unit}" if a.unit else ""
            print(f"    {a.username.ljust(width)}  {a.password}   {a.role}{unit}")
    if cases:
        print(f"Demo cases opened: {len(cases)}")
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    """Months of demo cases written in bulk (``services.seed_demo``) on the units and accounts of
    ``sop demo``; nothing when the database holds seeded cases already, unless --force."""
    from .services.seed_demo import seed_demo
    from .store import transaction

    runtime = _open(args, strict=True, migrate=True)
    with transaction(runtime.factory) as session:
        report = seed_demo(session, runtime.registry, months=args.months, cases=args.cases, seed=args.seed,
                           force=args.force)
    print(report.summary())
    return 0


def cmd_unit_add(args: argparse.Namespace) -> int:
    from .services import ensure_unit
    from .store import transaction

    runtime = _open(args)
    with transaction(runtime.factory) as session:
        ensure_unit(session, args.id, args.name)
    print(f"unit {args.id}: {args.name}")
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    from .services import check_roles, create_user
    from .store import transaction

    roles = args.role or []
    if not roles and not args.admin:
        print("error: give at least one --role ROLE, or --admin for an account that only administers",
              file=sys.stderr)
        return 2
    if args.email:
        from .services.outbox import normalise_email

        if normalise_email(args.email) is None:  # before asking for a password
            print(f"error: --email '{args.email[:80]}' is not an email address", file=sys.stderr)
            return 2
    runtime = _open(args)
    with runtime.factory() as session:  # the roles of the current versions (the database's)
        check_roles(session, runtime.registry, roles, args.unit)  # before asking for a password
    password = _settings().new_password or getpass.getpass(f"password for {args.username}: ")
    with transaction(runtime.factory) as session:
        user = create_user(session, args.username, password, roles=roles, unit_id=args.unit,
                           full_name=args.name or args.username, admin=args.admin)
        if args.email:
            from .services.outbox import set_account_email

            set_account_email(session, user, args.email)
    what = [f"role(s) {', '.join(roles)}"] if roles else []
    what += ["the admin capability (publishing SOPs)"] if args.admin else []
    print(f"user {args.username} created with {' and '.join(what)}")
    return 0


def cmd_user_active(args: argparse.Namespace) -> int:
    """`sop user disable NAME` / `sop user enable NAME`; disabling ends the account's sessions."""
    from .services import set_active
    from .store import transaction

    active = args.user_command == "enable"
    runtime = _open(args)
    with transaction(runtime.factory) as session:
        set_active(session, args.username, active)
    print(f"user {args.username} {'enabled' if active else 'disabled; its sessions are ended'}")
    return 0


def cmd_user_roles(args: argparse.Namespace) -> int:
    """`sop user roles NAME --role R [--unit U]`: replace the account's roles (services.people)."""
    from .services.people import set_roles
    from .store import transaction

    runtime = _open(args)
    with transaction(runtime.factory) as session:
        set_roles(session, runtime.registry, args.username, args.role or [], args.unit)
    print(f"user {args.username}: role(s) {', '.join(sorted(set(args.role or []))) or '-'}"
          f"{' in ' + args.unit if args.unit else ''}")
    return 0


def cmd_user_email(args: argparse.Namespace) -> int:
    """`sop user email NAME [ADDRESS]`: where the account is told of new work and escalations
    (no ADDRESS: none)."""
    from .services.outbox import set_account_email
    from .services.people import find_user
    from .store import transaction

    runtime = _open(args)
    with transaction(runtime.factory) as session:
        user = set_account_email(session, find_user(session, args.username), args.address)
        name, email = user.username, user.email
    print(f"user {name}: " + (f"email {email}" if email else "no email (no notices are sent to it)"))
    return 0


def cmd_user_password(args: argparse.Namespace) -> int:
    """`sop user password NAME [--generate]`: a new password (asked, $SOP_NEW_PASSWORD, or generated
    and printed once); the account's sessions end."""
    from .services.people import find_user, reset_password
    from .store import transaction

    runtime = _open(args)
    with runtime.factory() as session:
        find_user(session, args.username)  # before asking for a password
    password = None if args.generate else (_settings().new_password or getpass.getpass(f"new password for {args.username}: "))
    with transaction(runtime.factory) as session:
        new = reset_password(session, args.username, password)
    print(f"user {args.username}: password changed; its sessions are ended"
          + (f". New password (shown once): {new}" if args.generate else ""))
    return 0


def cmd_delegate(args: argparse.Namespace) -> int:
    """`sop delegate --role R [--unit U] --to USER --from ISO --until ISO --reason TEXT [--kind plt|plh]
    [--by USER]`, `sop delegate list [--all]` and `sop delegate revoke ID` (services.delegations)."""
    from .services import actor_for
    from .services import delegations
    from .store import User, transaction

    runtime = _open(args)
    if args.delegate_command == "list":
        with runtime.factory() as session:
            rows = delegations.list_delegations(session, runtime.registry, current_only=not args.all)
        for r in rows:
            unit = f" in {r.unit_name or r.unit_id}" if r.unit_id else ""
            holder = r.holder or "(no holder)"
            print(f"{r.id:>4}  {r.status:<8}  {r.title}{unit}: {r.delegate_username}, on behalf of {holder}  "
                  f"{r.starts_at:%Y-%m-%d %H:%M} - {r.ends_at:%Y-%m-%d %H:%M} UTC  ({r.reason})")
        if not rows:
            print("no delegations" + ("" if args.all else " running or to come (--all: past ones too)"))
        return 0
    if args.delegate_command == "revoke":
        with transaction(runtime.factory) as session:
            delegations.revoke(session, args.id, None)
        print(f"delegation {args.id} revoked: it ends now")
        return 0
    missing = [f"--{n}" for n, v in (("role", args.role), ("to", args.to), ("from", args.start),
                                      ("until", args.until), ("reason", args.reason)) if not v]
    if missing:
        print(f"error: give {', '.join(missing)} (or `sop delegate list` / `sop delegate revoke ID`)", file=sys.stderr)
        return 2
    with transaction(runtime.factory) as session:
        tz = delegations.role_timezone(session, runtime.registry, args.role)
        by = None
        if args.by:
            user = session.scalar(select_user(User, args.by))
            if user is None or not user.active:
                print(f"error: no active account '{args.by}' (--by)", file=sys.stderr)
                return 1
            by = actor_for(user)
        row = delegations.delegate(
            session, runtime.registry, by, role=args.role, unit_id=args.unit, to=args.to,
            starts_at=delegations.parse_time(args.start, tz),
            ends_at=delegations.parse_time(args.until, tz, end_of_day=True), reason=args.reason,
            kind=args.kind, holder=args.holder, created_by=args.by or "sop delegate")
        number, ends = row.id, row.ends_at
    print(f"delegation {number}: {args.to} acts as {args.role}{' in ' + args.unit if args.unit else ''} "
          f"until {ends:%Y-%m-%d %H:%M} UTC")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    """`sop token create USERNAME [--name N] [--expires DATE]`, `sop token list USERNAME`,
    `sop token revoke ID` (services.tokens): API tokens, the secret printed once."""
    from .services import tokens
    from .store import transaction

    runtime = _open(args)
    if args.token_command == "create":
        expires = tokens.parse_expiry(args.expires)
        with transaction(runtime.factory) as session:
            made = tokens.create_token(session, args.username, args.name or "cli", expires_at=expires)
        until = f", expires {made.info.expires_at:%Y-%m-%d %H:%M} UTC" if made.info.expires_at else ""
        print(f"token {made.info.id} for {made.info.username} ({made.info.name}{until}). "
              "The token (shown once; only its hash is stored):")
        print(made.secret)
        return 0
    if args.token_command == "list":
        with runtime.factory() as session:
            rows = tokens.list_tokens(session, args.username)
        for t in rows:
            used = f"last used {t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never used"
            until = f"expires {t.expires_at:%Y-%m-%d %H:%M}" if t.expires_at else "no expiry"
            print(f"{t.id:>4}  {t.status():<8}  {t.prefix}…  {t.name}  (created {t.created_at:%Y-%m-%d %H:%M}, "
                  f"{until}, {used}; UTC)")
        if not rows:
            print(f"no tokens for {args.username}")
        return 0
    with transaction(runtime.factory) as session:
        info = tokens.revoke_token(session, args.id)
    print(f"token {info.id} ({info.name}) of {info.username} revoked: it no longer works")
    return 0


def select_user(model: Any, username: str) -> Any:
    """The query for the account ``username`` (as a login reads it)."""
    from sqlalchemy import select

    from .services.accounts import normalise_username

    return select(model).where(model.username == normalise_username(username))


def cmd_check_db(args: argparse.Namespace) -> int:
    from .registry import Registry
    from .services import check_database
    from .store import make_engine, session_factory

    engine = make_engine(args.database or _settings().database_url)
    try:
        with session_factory(engine)() as session:
            # stored versions only: what the cases run on; and the attached files (SOP_UPLOADS)
            problems = check_database(session, Registry(), uploads=_settings().uploads_dir)
    finally:
        engine.dispose()
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print("OK")
    return 0


def cmd_tick(args: argparse.Namespace) -> int:
    from .services.schedule import tick
    from .store import transaction

    import datetime as dt

    from .services.revisions import apply_due_migrations

    runtime = _open(args)
    _tick_once(runtime)
    return 0


def _tick_once(runtime: "Runtime", quiet: bool = False) -> None:
    """One round of `sop tick` (and of each `sop worker` loop): revisions that took effect, the
    scheduled cases, escalations, then the outbox's due emails (each its own transaction)."""
    import datetime as dt

    from .services.escalations import record_escalations
    from .services.revisions import apply_due_migrations
    from .services.schedule import tick
    from .store import transaction

    with transaction(runtime.factory) as session:  # revisions that took effect first: new cases start on them
        for done in apply_due_migrations(session, runtime.registry, dt.datetime.now(dt.timezone.utc)):
            print(f"version {done.version[:12]} took effect: {len(done.moved)} case(s) moved, "
                  f"{len(done.kept)} kept on their version")
    with transaction(runtime.factory) as session:
        opened = tick(session, runtime.registry)
        for case in opened:
            print(f"opened case {case.id}: {case.title}")
    if not opened and not quiet:
        print("nothing to open")
    with transaction(runtime.factory) as session:  # steps overdue long enough: one notice each, once
        for esc in record_escalations(session, runtime.registry):
            print(f"case {esc.case_id} escalated at '{esc.state}' to {', '.join(esc.roles)}")
    _deliver_mail(runtime, quiet)


def _deliver_mail(runtime: "Runtime", quiet: bool = False) -> None:
    """The outbox's due messages over SOP_SMTP_URL; without it they wait (and tick says how many)."""
    from .services import outbox

    settings = _settings()
    if not settings.smtp_url:
        with runtime.factory() as session:
            waiting = outbox.counts(session).get(outbox.PENDING, 0)
        if waiting and not quiet:
            print(f"{waiting} email(s) waiting: set SOP_SMTP_URL to deliver them")
        return
    done = outbox.deliver(runtime.factory, settings.smtp_url, sender=settings.mail_from,
                          base_url=settings.public_url)
    if done.sent or done.retried or done.failed or not quiet:
        print(f"emails: {done.sent} sent, {done.retried} to retry, {done.failed} failed"
              + (f" (stopped: {done.stopped})" if done.stopped else ""))


def cmd_worker(args: argparse.Namespace) -> int:
    """`sop worker [--interval S]`: `sop tick` every S seconds until SIGTERM or SIGINT; a round that
    fails is logged and the next one runs (the database or the mail server may be back by then)."""
    import logging
    import signal
    import threading

    if args.interval <= 0:
        print("error: --interval must be a positive number of seconds", file=sys.stderr)
        return 2
    runtime = _open(args)
    smtp_url = _settings().smtp_url
    if smtp_url:
        from .services.outbox import check_sender, parse_smtp_url

        parse_smtp_url(smtp_url)  # a wrong setting stops the worker at once, not every round
        check_sender(_settings().mail_from)
    stop = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    log = logging.getLogger("runner.worker")
    print(f"worker started: a round every {args.interval:g} s (SIGTERM or Ctrl-C stops it)", flush=True)
    try:
        while not stop.is_set():
            try:
                _tick_once(runtime, quiet=True)
            except SopError as exc:
                log.error("worker.round_failed error=%s", type(exc).__name__)
            except Exception as exc:  # noqa: BLE001 - the next round may succeed; the worker stays up
                log.error("worker.round_failed error=%s", type(exc).__name__, exc_info=True)
            sys.stdout.flush()
            stop.wait(args.interval)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("worker stopped", flush=True)
    return 0


def cmd_recap(args: argparse.Namespace) -> int:
    """The monthly recap as CSV or XLSX: the same report (``services.recap``) as the recap case's page."""
    from pathlib import Path

    from .services import recap

    out = Path(args.output)
    if out.suffix.lower() not in (".csv", ".xlsx"):
        print(f"error: {out}: the file must end in .csv or .xlsx", file=sys.stderr)
        return 2
    try:
        recap.parse_period(args.month)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    runtime = _open(args)
    with runtime.factory() as session:
        report = recap.report_for_month(session, runtime.registry, args.month, args.sop)
    if out.suffix.lower() == ".csv":
        out.write_text(recap.to_csv(report, args.lang), encoding="utf-8")
    else:
        out.write_bytes(recap.to_xlsx(report, args.lang))
    received = report.table("totals").rows[0][1][0]
    print(f"{out}: {report.sop_id} {report.period}, {received} case(s) received, {len(report.tables)} tables")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    """Plan a revision against the running cases, then publish it (or, with --dry-run, only say what
    would happen). Exit 1, nothing written, when a case would be stranded (unless --keep-stranded)."""
    from .services import open_runtime
    from .services.publishing import current_sops
    from .services.revisions import parse_effective, plan, publish
    from .store import transaction

    source = read_source(args.path)
    sop = load_text(source, args.path)  # problems are printed PATH:LINE:COL by main()
    effective = parse_effective(args.effective, sop) if args.effective else None
    runtime = open_runtime(args.database or _settings().database_url, args.definitions, writes=not args.dry_run,
                           import_files=False)  # nothing but this command publishes this text
    with transaction(runtime.factory) as session:
        planned = plan(session, runtime.registry, source, args.path, keep_stranded=args.keep_stranded,
                       effective=effective)
        for o in planned.outcomes:
            where = f" → {o.to_state}" if o.to_state else ""
            print(f"case {o.case_id} {o.tracking_code or '-'}  {o.state}{where}: {o.outcome} ({o.reason})")
        counts = {k: sum(1 for o in planned.outcomes if o.outcome == k) for k in ("moves", "stays", "stranded")}
        when = planned.effective_from.astimezone(sop.calendar.zone).isoformat(timespec="minutes")
        print(f"{sop.id} {sop.version[:12]} ({'new' if planned.is_new else 'already stored'}), effective {when}: "
              f"{len(planned.outcomes)} live case(s) of older versions: {counts['moves']} move, "
              f"{counts['stays']} stay, {counts['stranded']} stranded")
        if not planned.ok:
            names = ", ".join(str(o.case_id) for o in planned.stranded)
            print(f"error: case(s) {names} would be stranded; map their steps in migration.steps, or publish "
                  "with --keep-stranded to leave them on their version", file=sys.stderr)
            return 1
        if args.dry_run:
            print("dry run: nothing was written")
            return 0
        done = publish(session, runtime.registry, planned, by=args.by)
        newest = current_sops(session, runtime.registry, planned.effective_from).get(sop.id)
    if newest is not None and newest.version != done.version:
        print(f"note: {newest.version[:12]}, published after this text, stays the current version", file=sys.stderr)
    if done.pending:
        print(f"published {done.version[:12]} (definition {done.definition_id}); it takes effect {when}, "
              "when `sop tick` moves the running cases")
    else:
        print(f"published {done.version[:12]} (definition {done.definition_id}): {len(done.moved)} case(s) moved, "
              f"{len(done.kept)} kept on their version")
    return 0


def cmd_versions(args: argparse.Namespace) -> int:
    from .services.publishing import current_sops
    from .services.revisions import versions

    runtime = _open(args)
    with runtime.factory() as session:
        rows = versions(session, args.sop_id)
        current = current_sops(session, runtime.registry).get(args.sop_id)
    if not rows:
        print(f"error: no version of '{args.sop_id}' is stored", file=sys.stderr)
        return 1
    for row, live in rows:
        mark = "*" if current is not None and current.version == row.version else " "
        since = row.effective_from.isoformat(timespec="minutes") if row.effective_from else "-"
        print(f"{mark} {row.id:>4}  {row.version[:12]}  published {row.published_at.isoformat(timespec='minutes')} "
              f"by {row.published_by or '-'}  effective {since}  {live} live case(s)")
    print("* current: new cases start on it")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sop", description="SOP Runner: run Standard Operating Procedures written in YAML.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check definition files (or every *.yaml of a directory); print PATH: OK or PATH:LINE:COL: error: …")
    p.add_argument("paths", nargs="+")
    p.add_argument("--strict", action="store_true", help="exit 1 on warnings too (PATH:LINE:COL: warning: …)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("show", help="print a definition (normalised JSON with --json)")
    p.add_argument("path")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("diagram", help="print a definition's state diagram (Mermaid, or Graphviz DOT source)")
    p.add_argument("path")
    p.add_argument("--format", choices=["mermaid", "dot"], default="mermaid",
                   help="mermaid (default) or dot (needs the graphviz Python package; no Graphviz program)")
    p.add_argument("--case", type=int, metavar="ID", help="highlight the state this case is in (read from the database)")
    p.add_argument("--database", help="SQLAlchemy URL (default: $SOP_DATABASE_URL or sqlite:///instance/sop.db)")
    p.add_argument("-o", "--output", metavar="OUT", help="write the diagram to OUT instead of standard output")
    p.set_defaults(func=cmd_diagram)

    p = sub.add_parser("document", help="write the official SOP document (identity page and flowchart tables) "
                                        "as .svg, .html or .pdf, after OUT's extension")
    p.add_argument("path")
    p.add_argument("-o", "--output", metavar="OUT", required=True,
                   help="OUT.svg (the flowchart tables), OUT.html (the whole document) or OUT.pdf")
    p.add_argument("--flow", help="only this flow's table (default: every flow, scheduled ones last)")
    p.add_argument("--orientation", choices=["portrait", "landscape"], default="portrait", help="A4 paper (default portrait)")
    p.add_argument("--lang", choices=["id", "en"], default="id", help="language of the document's own words and of "
                   "bilingual names (default id)")
    p.set_defaults(func=cmd_document)

    p = sub.add_parser("simulate", help="walk one case through a definition in memory and print each step's due time")
    p.add_argument("path")
    p.add_argument("--flow", help="flow id (default: the first flow)")
    p.add_argument("--path", dest="path_actions", metavar="ACTION,...",
                   help="action ids to take, one per step, in order (then the first action of each step)")
    p.add_argument("--start", metavar="ISO8601",
                   help="when the case opens, e.g. 2026-12-07T15:00:00+07:00 (default: now; no offset: the SOP's time zone)")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("new", help="print (or write with -o) a commented starting definition that passes validate")
    p.add_argument("id", help="the new SOP's id, snake_case (e.g. izin_keramaian)")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (never overwritten) instead of standard output")
    p.set_defaults(func=cmd_new)

    def with_db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--database", help="SQLAlchemy URL (default: $SOP_DATABASE_URL or sqlite:///instance/sop.db)")
        p.add_argument("--definitions", default=str(_settings().definitions),
                       help="directory of SOP YAML files (default: $SOP_DEFINITIONS or sop_definitions)")
        return p

    db = sub.add_parser("db", help="database schema")
    dbsub = db.add_subparsers(dest="db_command", required=True)
    p = with_db(dbsub.add_parser("upgrade", help="create or migrate the schema (Alembic)"))
    p.set_defaults(func=cmd_db_upgrade)

    p = with_db(sub.add_parser("load", help="publish every definition in the definitions directory"))
    p.set_defaults(func=cmd_load)

    p = with_db(sub.add_parser("demo", help="set up a demo database: schema, definitions, demo units and accounts"))
    p.add_argument("--cases", action="store_true",
                   help="also open demo cases in every state of every SOP's flows (filled from the fields' examples)")
    p.set_defaults(func=cmd_demo)

    p = with_db(sub.add_parser("seed-demo", help="fill the database with months of realistic demo cases in bulk "
                                                 "(after `sop demo`; adds nothing when seeded cases exist)"))
    p.add_argument("--months", type=int, default=6, help="spread the cases over the last N months (default 6)")
    p.add_argument("--cases", type=int, default=600, help="how many cases (default 600)")
    p.add_argument("--seed", type=int, default=1, help="random seed: the same seed gives the same data (default 1)")
    p.add_argument("--force", action="store_true", help="add cases even when seeded ones are there already")
    p.set_defaults(func=cmd_seed_demo)

    unit = sub.add_parser("unit", help="organisational units (OPD)")
    unitsub = unit.add_subparsers(dest="unit_command", required=True)
    p = with_db(unitsub.add_parser("add", help="add or rename a unit"))
    p.add_argument("id")
    p.add_argument("name")
    p.set_defaults(func=cmd_unit_add)

    user = sub.add_parser("user", help="accounts")
    usersub = user.add_subparsers(dest="user_command", required=True)
    p = with_db(usersub.add_parser("add", help="add an account (password asked, or $SOP_NEW_PASSWORD)"))
    p.add_argument("username")
    p.add_argument("--role", action="append",
                   help="role id, or ROLE@UNIT for a unit-scoped role held in its own unit; repeat for several "
                        "(required unless --admin)")
    p.add_argument("--admin", action="store_true",
                   help="may publish SOP versions from the admin pages (an application capability, not an SOP role)")
    p.add_argument("--unit", help="unit id: required for unit-scoped roles, refused for the others")
    p.add_argument("--name", help="full name")
    p.add_argument("--email", help="where the account is told of new work and escalations (see SOP_SMTP_URL)")
    p.set_defaults(func=cmd_user_add)
    p = with_db(usersub.add_parser("email", help="set (or, without ADDRESS, remove) the email an account is told at"))
    p.add_argument("username")
    p.add_argument("address", nargs="?", default=None)
    p.set_defaults(func=cmd_user_email)
    p = with_db(usersub.add_parser("disable", help="disable an account and end its sessions at once"))
    p.add_argument("username")
    p.set_defaults(func=cmd_user_active)
    p = with_db(usersub.add_parser("enable", help="enable a disabled account again"))
    p.add_argument("username")
    p.set_defaults(func=cmd_user_active)
    p = with_db(usersub.add_parser("roles", help="set an account's roles (and unit), replacing the ones it had"))
    p.add_argument("username")
    p.add_argument("--role", action="append",
                   help="role id, or ROLE@UNIT for a unit-scoped role held in a unit other than --unit; repeat for several")
    p.add_argument("--unit", help="unit id: required for unit-scoped roles, refused for the others")
    p.set_defaults(func=cmd_user_roles)
    p = with_db(usersub.add_parser("password", help="set a new password (asked, or $SOP_NEW_PASSWORD) and end its sessions"))
    p.add_argument("username")
    p.add_argument("--generate", action="store_true", help="generate one and print it once")
    p.set_defaults(func=cmd_user_password)

    p = with_db(sub.add_parser("delegate", help="let another account act in a role for a period (Plt/Plh); "
                                                "`delegate list`, `delegate revoke ID`"))
    p.add_argument("--role", help="the role lent (an internal role of a loaded SOP)")
    p.add_argument("--unit", help="its unit: required for unit-scoped roles, refused for the others")
    p.add_argument("--to", help="username of the account that acts in the role")
    p.add_argument("--from", dest="start", metavar="ISO",
                   help="start: YYYY-MM-DD or YYYY-MM-DDTHH:MM (the SOP's timezone unless an offset is given)")
    p.add_argument("--until", metavar="ISO", help="end: a bare date includes that whole day")
    p.add_argument("--reason", help="why (shown to admins with the delegation)")
    p.add_argument("--kind", default="plh", choices=["plt", "plh"], help="Plt (pelaksana tugas) or Plh (pelaksana harian)")
    p.add_argument("--by", metavar="USER", help="the holder delegating (must hold the role); default: the administrator")
    p.add_argument("--holder", metavar="USER", help="without --by: the holder named in history (default: the one holder, if one)")
    p.set_defaults(func=cmd_delegate, delegate_command=None)
    dsub = p.add_subparsers(dest="delegate_command")
    lp = with_db(dsub.add_parser("list", help="delegations running or to come (--all: past and revoked too)"))
    lp.add_argument("--all", action="store_true")
    rp = with_db(dsub.add_parser("revoke", help="end a delegation now"))
    rp.add_argument("id", type=int)

    token = sub.add_parser("token", help="API tokens for the JSON API under /api/v1 (stored hashed)")
    tokensub = token.add_subparsers(dest="token_command", required=True)
    p = with_db(tokensub.add_parser("create", help="make a token for an account and print it once"))
    p.add_argument("username")
    p.add_argument("--name", help="what it is for, e.g. the script using it (default: cli)")
    p.add_argument("--expires", metavar="DATE", help="last day it works (YYYY-MM-DD, UTC) or an ISO 8601 time; default: never")
    p.set_defaults(func=cmd_token)
    p = with_db(tokensub.add_parser("list", help="an account's tokens (never their secrets)"))
    p.add_argument("username")
    p.set_defaults(func=cmd_token)
    p = with_db(tokensub.add_parser("revoke", help="revoke a token now (by the id `token list` shows)"))
    p.add_argument("id", type=int)
    p.set_defaults(func=cmd_token)

    p = sub.add_parser("check-db", help="check every case against its history and definition; OK or each problem")
    p.add_argument("--database", help="SQLAlchemy URL (default: $SOP_DATABASE_URL or sqlite:///instance/sop.db)")
    p.set_defaults(func=cmd_check_db)

    p = with_db(sub.add_parser("tick", help="open the scheduled cases that are due, record escalations and send the "
                                            "due emails (run from cron, or use `sop worker`)"))
    p.set_defaults(func=cmd_tick)
    p = with_db(sub.add_parser("worker", help="run `sop tick` every --interval seconds until SIGTERM/SIGINT "
                                              "(emails go out within one interval)"))
    p.add_argument("--interval", type=float, default=60.0, help="seconds between rounds (default 60)")
    p.set_defaults(func=cmd_worker)

    p = with_db(sub.add_parser("recap", help="write a month's recap (the recap case page's tables) as CSV or XLSX"))
    p.add_argument("month", help="the month, YYYY-MM (in the SOP's time zone)")
    p.add_argument("--sop", help="the SOP id (needed when more than one SOP has a scheduled flow)")
    p.add_argument("-o", "--output", required=True, help="FILE.csv or FILE.xlsx")
    p.add_argument("--lang", default="id", choices=["id", "en"], help="language of the headers (default id)")
    p.set_defaults(func=cmd_recap)

    p = with_db(sub.add_parser("publish", help="publish a revision, moving the running cases of older versions to it"))
    p.add_argument("path")
    p.add_argument("--dry-run", action="store_true", help="only print what would happen; exit 1 if a case would be stranded")
    p.add_argument("--effective", metavar="DATE", help="take effect on DATE (YYYY-MM-DD, midnight in the SOP's time "
                   "zone, or an ISO 8601 time); `sop tick` then moves the cases")
    p.add_argument("--keep-stranded", action="store_true",
                   help="leave cases whose step the revision lacks on their version instead of refusing")
    p.add_argument("--by", default="cli", help="who publishes (recorded with the version; default: cli)")
    p.set_defaults(func=cmd_publish)

    p = with_db(sub.add_parser("versions", help="list every stored version of an SOP and its live cases"))
    p.add_argument("sop_id")
    p.set_defaults(func=cmd_versions)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    settings = _settings()
    # Commands print their own results; the log (stderr) shows warnings and errors unless
    # SOP_LOG_LEVEL asks for more.
    configure_logging(settings.log_level or "WARNING", settings.log_format)
    args = build_parser().parse_args(argv)
    try:
        status: int = args.func(args)
        return status
    except DefinitionError as exc:
        for p in exc.problems:
            print(p.format(), file=sys.stderr)
        return 1
    except SopError as exc:  # ConfigurationError's text ends with its hint
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `sop show … | head`: the reader left; not an error worth a message
        sys.stderr.close()
        return 0
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        if type(exc).__module__.startswith("sqlalchemy"):  # e.g. the database cannot be reached
            first = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            print(f"error: the database refused the command ({first}); check --database / $SOP_DATABASE_URL "
                  "and run `sop db upgrade`", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
