"""Stored definition versions are trusted history.

A version is validated when it is published; its running cases must keep running even when a later
release tightens the rules. Only a stored text that cannot be read at all is an error — and then the
case page says so plainly, while every other case and the inbox go on working.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from conftest import REPORT
from runner import services
from runner.access import Actor
from runner.definition import Problem, load_text, schema_check
from runner.definition.stored import FORMAT, load_stored
from runner.errors import DefinitionError, StoredVersionError
from runner.registry import Registry
from runner.store import Case, Definition, transaction
from web_helpers import Visitor, dispose, make_app

ADMIN = Actor(1, "Admin", frozenset({"admin_utama"}))


def _new_case(factory, registry) -> int:
    with transaction(factory) as s:
        return services.start_case(s, registry, "laporisp4n", "pengaduan", REPORT, actor=Actor.public("pelapor")).id


def test_a_tightened_rule_does_not_stop_running_cases(factory, registry, seeded, monkeypatch):
    case_id = _new_case(factory, registry)
    source = registry.source(registry.get("laporisp4n"))

    # A future release rejects something every current definition does.
    def stricter(data, smap, path):
        return [Problem(path, 1, 1, "roles: a newer rule this definition breaks")]

    monkeypatch.setattr(schema_check, "check", stricter)
    with pytest.raises(DefinitionError, match="a newer rule"):
        load_text(source, "laporisp4n.yaml")  # the file on disk would now be refused...

    fresh = Registry()  # ...but a process starting now rebuilds the case's version from the database
    with transaction(factory) as s:
        case = services.perform_step(s, fresh, case_id, ADMIN, "simpan", {"kanal": "web"}, expected_version=1)
        assert case.state == "verifikasi_laporan"
    with factory() as s:
        assert services.case_view(s, fresh, case_id, ADMIN).activity.no == 2


def test_each_version_records_its_format(factory, registry, seeded):
    with factory() as s:
        rows = list(s.scalars(select(Definition)))
    assert rows and all(r.format == FORMAT for r in rows)


def test_a_version_from_a_newer_release_or_corrupt_is_a_clear_error(registry):
    source = registry.source(registry.get("laporisp4n"))
    with pytest.raises(StoredVersionError, match="format 99"):
        load_stored(source, 99)
    with pytest.raises(StoredVersionError):
        load_stored("id: [unclosed", FORMAT)
    with pytest.raises(StoredVersionError, match="cannot be built"):
        load_stored("id: x\ntitle: y\n", FORMAT)
    assert load_stored(source, FORMAT).version == registry.get("laporisp4n").version


def test_an_unreadable_stored_version_gives_a_clear_page_not_a_500(db_url, seeded, factory, registry):
    case_id = _new_case(factory, registry)
    other = _new_case(factory, registry)
    with transaction(factory) as s:
        # an old version, its text damaged in the database by hand
        row = Definition(sop_id="laporisp4n", version="0" * 64, title="rusak", source_path="old.yaml",
                         source="id: [unclosed", format=FORMAT,
                         published_at=s.get(Case, case_id).created_at)
        s.add(row)
        s.flush()
        s.execute(update(Case).where(Case.id == case_id).values(definition_id=row.id))
    app = make_app(db_url)
    try:
        admin = Visitor(app)
        admin.login("admin_utama")
        page = admin.get(f"/kasus/{case_id}")
        assert page.status_code == 503
        assert "tidak dapat dibaca" in page.get_data(as_text=True)
        inbox = admin.get("/kotak-masuk")
        assert inbox.status_code == 200 and other in admin.inbox_ids() and case_id not in admin.inbox_ids()
        assert admin.get(f"/kasus/{other}").status_code == 200
    finally:
        dispose(app)
