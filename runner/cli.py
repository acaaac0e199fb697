"""The `sop` command: validate and inspect definitions, manage the database, accounts and schedule.

Every command prints plain messages and exits non-zero on failure; a definition problem is printed
as ``PATH:LINE:COL: error: MESSAGE`` and never as a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Sequence

from .definition import Sop, check_text
from .errors import ConfigurationError, DefinitionError, SopError


def default_definitions() -> str:
    return os.environ.get("SOP_DEFINITIONS", "sop_definitions")


def sop_to_json(sop: Sop) -> dict:
    """The normalised definition for other tools (documented in docs/sop-language.md)."""
    ident = sop.identity

    def official(o):
        return {"position": o.position, "name": o.name, "nip": o.nip} if o else None

    def text(t):
        return t.get() if t is not None else None

    return {
        "id": sop.id,
        "title": sop.title,
        "version": sop.version,
        "identity": {
            "agency": ident.agency, "name": ident.name, "number": ident.number,
            "created": ident.created.isoformat() if ident.created else None,
            "revised": ident.revised.isoformat() if ident.revised else None,
            "effective": ident.effective.isoformat() if ident.effective else None,
            "prepared_by": official(ident.prepared_by), "checked_by": official(ident.checked_by),
            "approved_by": official(ident.approved_by),
            "legal_basis": list(ident.legal_basis), "qualifications": list(ident.qualifications),
            "related_sops": list(ident.related_sops), "equipment": list(ident.equipment),
            "warnings": list(ident.warnings), "recording": list(ident.recording), "remarks": list(ident.remarks),
        },
        "calendar": {"timezone": sop.calendar.timezone},
        "roles": [{"id": r.id, "name": r.name, "unit_scoped": r.unit_scoped, "external": r.external}
                  for r in sop.roles],
        "flows": [{"id": f.id, "name": f.name, "start": f.start, "schedule": f.schedule,
                   "started_by": list(f.started_by), "ends": [{"id": e.id, "name": e.name} for e in f.ends]}
                  for f in sop.flows],
        "activities": [
            {
                "no": a.no, "id": a.id, "flow": a.flow, "name": a.name, "performers": list(a.performers),
                "recipients": list(a.recipients), "requirements": list(a.requirements),
                "time_limit": ({"text": a.time_limit.text, "duration": a.time_limit.duration.iso(),
                                "advisory": a.time_limit.advisory} if a.time_limit else None),
                "output": a.output, "note": a.note,
                "fields": [{"id": f.id, "type": f.type, "label": text(f.label), "required": f.required,
                            "public": f.public} for f in a.fields],
                "actions": [{"id": x.id, "label": text(x.label), "to": x.to} for x in a.actions],
            }
            for a in sop.activities
        ],
    }


# -- commands -------------------------------------------------------------------------------------
def cmd_validate(args) -> int:
    status = 0
    for path in args.paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"{path}:1:1: error: cannot read file: {getattr(exc, 'strerror', None) or exc}")
            status = 1
            continue
        sop, problems = check_text(text, path)
        for p in problems:
            print(p.format())
        if sop is None:
            status = 1
        else:
            print(f"{path}: OK")
    return status


def cmd_show(args) -> int:
    try:
        text = Path(args.path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        print(f"{args.path}:1:1: error: file is not UTF-8 text ({exc.reason})", file=sys.stderr)
        return 1
    sop, problems = check_text(text, args.path)
    if sop is None:
        for p in problems:
            print(p.format(), file=sys.stderr)
        return 1
    data = sop_to_json(sop)
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(f"{sop.title}  [{sop.id} @ {sop.version[:12]}]")
        print(f"{sop.identity.agency} — {sop.identity.number}")
        for a in sop.activities:
            limit = f"{a.time_limit.text} ({a.time_limit.duration.iso()})" if a.time_limit else "-"
            print(f"{a.no:>3}. [{', '.join(a.performers)}] {a.name}  ⏱ {limit}")
            for x in a.actions:
                print(f"       → {x.id}: {x.to}")
    return 0


def _open(args):
    from .registry import Registry
    from .store import default_url, make_engine, session_factory

    url = args.database or default_url()
    engine = make_engine(url)
    registry = Registry.from_directory(args.definitions)
    return engine, session_factory(engine), registry


def cmd_db_upgrade(args) -> int:
    from .store import default_url, make_engine, upgrade

    upgrade(make_engine(args.database or default_url()))
    print("database schema is up to date")
    return 0


def cmd_load(args) -> int:
    from .services import publish_all
    from .store import transaction

    _, factory, registry = _open(args)
    with transaction(factory) as session:
        for row in publish_all(session, registry):
            print(f"{row.sop_id}: version {row.version[:12]} published ({row.source_path})")
    return 0


def cmd_demo(args) -> int:
    from .services import publish_all
    from .services.demo import seed
    from .services.schedule import tick
    from .store import transaction, upgrade

    engine, factory, registry = _open(args)
    upgrade(engine)
    with transaction(factory) as session:
        publish_all(session, registry)
        accounts = seed(session, registry)
        tick(session, registry)
    print("Demo accounts (demo start only; every password is the same):")
    width = max(len(a.username) for a in accounts)
    for a in accounts:
        unit = f"  — {a.unit}" if a.unit else ""
        print(f"  {a.username.ljust(width)}  {a.password}   {a.role}{unit}")
    return 0


def cmd_unit_add(args) -> int:
    from .services import ensure_unit
    from .store import transaction

    _, factory, _ = _open(args)
    with transaction(factory) as session:
        ensure_unit(session, args.id, args.name)
    print(f"unit {args.id}: {args.name}")
    return 0


def cmd_user_add(args) -> int:
    from .services import create_user
    from .store import transaction

    _, factory, registry = _open(args)
    known = {r.id for sop in registry.current() for r in sop.roles if not r.external}
    unknown = [r for r in args.role if r not in known]
    if unknown:
        print(f"error: unknown role(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}", file=sys.stderr)
        return 1
    password = os.environ.get("SOP_NEW_PASSWORD") or getpass.getpass(f"password for {args.username}: ")
    with transaction(factory) as session:
        create_user(session, args.username, password, roles=args.role, unit_id=args.unit,
                    full_name=args.name or args.username)
    print(f"user {args.username} created with role(s) {', '.join(args.role)}")
    return 0


def cmd_tick(args) -> int:
    from .services.schedule import tick
    from .store import transaction

    _, factory, registry = _open(args)
    with transaction(factory) as session:
        opened = tick(session, registry)
        for case in opened:
            print(f"opened case {case.id}: {case.title}")
    if not opened:
        print("nothing to open")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sop", description="SOP Runner: run Standard Operating Procedures written in YAML.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check definition files; print PATH: OK or PATH:LINE:COL: error: …")
    p.add_argument("paths", nargs="+")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("show", help="print a definition (normalised JSON with --json)")
    p.add_argument("path")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)

    def with_db(p):
        p.add_argument("--database", help="SQLAlchemy URL (default: $SOP_DATABASE_URL or sqlite:///instance/sop.db)")
        p.add_argument("--definitions", default=default_definitions(),
                       help="directory of SOP YAML files (default: $SOP_DEFINITIONS or sop_definitions)")
        return p

    db = sub.add_parser("db", help="database schema")
    dbsub = db.add_subparsers(dest="db_command", required=True)
    p = with_db(dbsub.add_parser("upgrade", help="create or migrate the schema (Alembic)"))
    p.set_defaults(func=cmd_db_upgrade)

    p = with_db(sub.add_parser("load", help="publish every definition in the definitions directory"))
    p.set_defaults(func=cmd_load)

    p = with_db(sub.add_parser("demo", help="set up a demo database: schema, definitions, demo units and accounts"))
    p.set_defaults(func=cmd_demo)

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
    p.add_argument("--role", action="append", required=True, help="role id; repeat for several")
    p.add_argument("--unit", help="unit id, for unit-scoped roles")
    p.add_argument("--name", help="full name")
    p.set_defaults(func=cmd_user_add)

    p = with_db(sub.add_parser("tick", help="open the scheduled cases that are due (run daily from cron)"))
    p.set_defaults(func=cmd_tick)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DefinitionError as exc:
        for p in exc.problems:
            print(p.format(), file=sys.stderr)
        return 1
    except (ConfigurationError, SopError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `sop show … | head`: the reader left; not an error worth a message
        sys.stderr.close()
        return 0
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
