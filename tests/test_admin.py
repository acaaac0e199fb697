"""The admin pages through Flask's test client, on SQLite and PostgreSQL: who may open them, the
versions list, one version's YAML and diagram, a diff, and the editor that checks, dry-runs and
publishes a definition — nothing saved before "Terbitkan", a stale form checked again, hostile input
answered with a message. CSRF stays on: every POST is built from the page a browser would have loaded.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from markupsafe import escape
from hypothesis import HealthCheck, example, given, settings, strategies as st
from sqlalchemy import func, select

from conftest import LAPOR, REPORT
from runner import services
from runner.cli import main
from runner.definition import check_text
from runner.services import drafts, revisions, versions
from runner.store import Case, Definition, User, make_engine, session_factory, transaction
from web_helpers import DEFINITIONS, Visitor, form_with, text_of

EDIT = "/admin/sunting/laporisp4n"
SOURCE = LAPOR.read_text(encoding="utf-8")
REVISED = SOURCE.replace("time_limit: 30 menit", "time_limit: 1 jam", 1)  # step 5: 30 minutes -> 1 hour
RENAMED_STEP = SOURCE.replace("id: penerimaan disposisi laporan", "id: Penerimaan disposisi laporan", 1)
NEW_STEP_ID = REVISED.replace("input_laporan", "catat_laporan")  # step 1 keeps its name, gets a new id


def line_of(text: str, needle: str) -> int:
    """The 1-based number of the first line of ``text`` holding ``needle``."""
    for no, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return no
    raise AssertionError(f"{needle!r} not in the text")


@pytest.fixture
def admin(app):
    """An admin reading the English interface: the assertions quote the English texts (the Indonesian
    catalog is checked by test_i18n, and the browser test walks the editor in Indonesian)."""
    v = Visitor(app)
    v.login("admin_sop")
    with v.client.session_transaction() as session:
        session["lang"] = "en"
    return v


def definitions_count(factory) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(Definition))


def lapor_rows(factory) -> list[Definition]:
    with factory() as s:
        rows = list(s.scalars(select(Definition).where(Definition.sop_id == "laporisp4n").order_by(Definition.id)))
        s.expunge_all()
        return rows


def open_cases(factory, registry, actor, n: int) -> list[int]:
    ids = []
    for i in range(n):
        with transaction(factory) as s:
            ids.append(services.start_case(s, registry, "laporisp4n", "pengaduan", {**REPORT, "judul": f"Laporan {i}"},
                                           actor=actor("admin_utama")).id)
    return ids


def check(visitor: Visitor, source: str, url: str = EDIT, **extra):
    return visitor.submit(url, {"source": source, **extra}, testid="editor-form", button="check")


def publish_from(visitor: Visitor, page, url: str = EDIT, **overrides):
    return visitor.submit(url, overrides, testid="editor-form", button="publish", page=page, action=url)


# -- who may -------------------------------------------------------------------------------------
def test_signed_out_visitors_are_sent_to_the_login_page(app):
    for url in ("/admin/", EDIT, "/admin/versi/1", "/admin/beda/1/1"):
        r = Visitor(app).get(url)
        assert r.status_code == 302, url
        assert urlsplit(r.headers["Location"]).path == "/masuk"


def test_staff_without_the_admin_capability_get_a_plain_403(app, factory):
    kadis = Visitor(app)
    kadis.login("kadis")
    before = definitions_count(factory)
    for url in ("/admin/", EDIT, "/admin/versi/1", "/admin/versi/1/diagram.mmd"):
        r = kadis.get(url)
        assert r.status_code == 403, url
        assert "administrator" in text_of(r.get_data(as_text=True), "error-message")
    token = re.search(r'name="csrf_token" value="([^"]+)"', kadis.get("/kotak-masuk").get_data(as_text=True)).group(1)
    r = kadis.post(EDIT, {"csrf_token": token, "source": REVISED, "do": "publish"})
    assert r.status_code == 403
    assert definitions_count(factory) == before
    assert 'data-testid="nav-admin"' not in kadis.get("/kotak-masuk").get_data(as_text=True)


def test_the_demo_admin_has_the_capability_and_no_sop_role(app, admin, factory):
    with factory() as s:
        user = s.scalar(select(User).where(User.username == "admin_sop"))
        assert user.is_admin and user.role_ids == frozenset()
    page = admin.get("/kotak-masuk").get_data(as_text=True)
    assert 'data-testid="nav-admin"' in page
    assert admin.get("/admin/").status_code == 200


# -- the list, one version, a diff ------------------------------------------------------------------
def test_the_list_shows_every_version_with_its_open_cases(app, admin, factory, registry, actor):
    open_cases(factory, registry, actor, 3)
    html = admin.get("/admin/").get_data(as_text=True)
    (row,) = lapor_rows(factory)
    assert text_of(html, f"live-{row.id}") == "3"
    assert 'data-testid="versions-laporisp4n"' in html
    assert row.version[:12] in html
    assert text_of(html, "current") is not None
    assert admin.get("/admin/sop/laporisp4n").status_code == 200
    assert admin.get("/admin/sop/no_such_sop").status_code == 404


def test_the_list_is_one_query_whatever_the_number_of_versions(app, admin, factory, registry, actor, db_engine):
    from sqlalchemy import event

    open_cases(factory, registry, actor, 2)

    def statements() -> list[str]:
        seen: list[str] = []
        listen = lambda *a: seen.append(a[2])  # noqa: E731 - (conn, cursor, statement, ...)
        event.listen(db_engine, "before_cursor_execute", listen)
        try:
            with factory() as s:
                found = versions.sop_versions(s, registry, "laporisp4n")
        finally:
            event.remove(db_engine, "before_cursor_execute", listen)
        return [f"{len(found[0].versions)} versions, {found[0].live_cases} open", *seen]

    one = statements()
    for text in (REVISED, RENAMED_STEP):
        with transaction(factory) as s:
            revisions.publish(s, registry, revisions.plan(s, registry, text), by="test")
    three = statements()
    assert (one[0], three[0]) == ("1 versions, 2 open", "3 versions, 2 open")
    assert len(three) == len(one), three
    assert len([q for q in three if "count(" in q.lower()]) == 1


def test_a_version_page_shows_its_yaml_with_line_numbers_and_a_diagram(app, admin, factory):
    (row,) = lapor_rows(factory)
    html = admin.get(f"/admin/versi/{row.id}").get_data(as_text=True)
    assert text_of(html, "version-hash") == row.version
    n = line_of(row.source, "id: laporisp4n")
    assert re.search(rf'<tr id="L{n}">\s*<th scope="row"><a href="#L{n}">{n}</a></th>\s*<td class="src"><code>id: laporisp4n</code>', html)
    assert html.count('<tr id="L') == len(row.source.splitlines())
    assert 'data-testid="diff-link"' not in html  # the first version has nothing before it
    r = admin.get(f"/admin/versi/{row.id}/diagram.mmd")
    assert r.status_code == 200
    assert r.headers["Content-Disposition"].startswith("attachment;")
    assert "\nstateDiagram-v2\n" in r.get_data(as_text=True)
    assert f'href="/sop/{row.id}/dokumen"' in html and f'href="/sop/{row.id}/dokumen.svg"' in html
    assert admin.get(f"/admin/versi/{row.id}/diagram.exe").status_code == 404
    assert admin.get("/admin/versi/99999").status_code == 404


def test_the_diff_marks_added_and_removed_lines_and_sums_up_the_changes(app, admin, factory, registry):
    with transaction(factory) as s:
        revisions.publish(s, registry, revisions.plan(s, registry, REVISED), by="test")
    with transaction(factory) as s:
        revisions.publish(s, registry, revisions.plan(s, registry, NEW_STEP_ID), by="test")
    first, second, third = lapor_rows(factory)
    html = admin.get(f"/admin/versi/{third.id}").get_data(as_text=True)
    assert f'href="/admin/beda/{second.id}/{third.id}"' in html
    html = admin.get(f"/admin/beda/{first.id}/{third.id}").get_data(as_text=True)
    assert "30 menit → 1 jam" in text_of(html, "time-limit-changed")
    changed = text_of(html, "step-id-changed")
    assert "input_laporan" in changed and "catat_laporan" in changed
    assert text_of(html, "step-added") is None and text_of(html, "step-removed") is None
    # each changed line is marked by a sign and a word, not by colour alone
    removed = re.findall(r'data-kind="removed">.*?<del><code>(.*?)</code></del>', html, re.S)
    added = re.findall(r'data-kind="added">.*?<ins><code>(.*?)</code></ins>', html, re.S)
    assert "    time_limit: 30 menit" in removed and "    time_limit: 1 jam" in added
    assert "    start: catat_laporan" in added
    assert html.count('<span class="sr">removed</span>') == len(removed)
    assert html.count('<span aria-hidden="true">+</span>') == len(added)
    same = admin.get(f"/admin/beda/{first.id}/{first.id}").get_data(as_text=True)
    assert text_of(same, "no-changes") is not None


# -- the editor: check ------------------------------------------------------------------------------
BROKEN = (SOURCE.replace("time_limit: 30 menit", "time_limit: 30 menitan", 1)
          .replace("start: input_laporan", "start: input_laporann", 1))


def test_a_broken_text_shows_every_problem_at_its_line_and_saves_nothing(app, admin, factory):
    before = definitions_count(factory)
    page = admin.get(EDIT).get_data(as_text=True)
    assert form_with(page, testid="editor-form").fields["source"] == SOURCE  # prefilled with the current text
    r = check(admin, BROKEN)
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    _, problems = check_text(BROKEN, str(LAPOR))
    errors = [p for p in problems if p.severity == "error"]
    assert len(errors) >= 2
    assert {line_of(BROKEN, "30 menitan"), line_of(BROKEN, "input_laporann")} <= {p.line for p in errors}
    for p in problems:  # each beside its line, and listed at the top with a link to that line
        assert re.search(rf'<tr id="L{p.line}" class="has-problem">.*?data-testid="problem-at-{p.line}">.*?'
                         rf'{re.escape(str(escape(p.message))[:40])}', html, re.S), p
        assert f'href="#L{p.line}"' in html
    assert f"{len(errors)} errors" in text_of(html, "check-verdict")
    assert 'data-testid="publish"' not in html
    assert form_with(html, testid="editor-form").fields["source"] == BROKEN  # the text is kept to fix it
    assert definitions_count(factory) == before
    # publishing a broken text anyway (a forged button) publishes nothing either
    r = admin.submit(EDIT, {"source": BROKEN, "do": "publish"}, testid="editor-form")
    assert r.status_code == 409
    assert definitions_count(factory) == before


def test_warnings_are_shown_at_their_line_but_do_not_stop_publishing(app, admin, factory):
    # a step with no time limit (step 3, which names no escalation: that would need a limit): a warning
    assert SOURCE.count("    time_limit: 1 jam\n") == 1
    warned = SOURCE.replace("    time_limit: 1 jam\n", "", 1)
    r = check(admin, warned)
    html = r.get_data(as_text=True)
    _, problems = check_text(warned)
    (warning,) = [p for p in problems if p.severity == "warning" and "time_limit" in p.message]
    assert re.search(rf'data-testid="problem-at-{warning.line}">.*?Warning', html, re.S)
    assert 'data-testid="publish"' in html


def test_a_valid_text_previews_dry_runs_and_publishes(app, admin, factory, registry, actor):
    case_ids = open_cases(factory, registry, actor, 2)
    before = definitions_count(factory)
    r = check(admin, REVISED)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "valid" in text_of(html, "check-verdict")
    assert text_of(html, "draft-version") == check_text(REVISED)[0].version[:12]
    outcomes = dict(re.findall(r'data-case="(\d+)" data-outcome="(\w+)"', html))
    assert outcomes == {str(i): "moves" for i in case_ids}
    assert definitions_count(factory) == before  # a check saves nothing
    preview = re.search(r'data-testid="document-preview">(.*?)</details>', html, re.S).group(1)
    assert "<svg" in preview and "065/144/0K15/KAP - 2018" in preview  # the unsaved text's own document
    r = publish_from(admin, r)
    assert r.status_code == 302
    assert urlsplit(r.headers["Location"]).path == "/admin/sop/laporisp4n"
    page = admin.get(r.headers["Location"]).get_data(as_text=True)
    assert "Published" in page and "2 case(s) moved" in page
    rows = lapor_rows(factory)
    assert len(rows) == 2 and rows[-1].published_by == "admin_sop" and rows[-1].source == REVISED
    assert text_of(page, f"live-{rows[-1].id}") == "2" and text_of(page, f"live-{rows[0].id}") == "0"
    with factory() as s:
        assert {s.get(Case, i).definition_id for i in case_ids} == {rows[-1].id}


def test_a_revision_effective_later_is_listed_but_not_current_until_then(app, admin, factory, registry, actor):
    (case_id,) = open_cases(factory, registry, actor, 1)
    r = check(admin, REVISED, effective="2099-01-02")
    assert "2099" in text_of(r.get_data(as_text=True), "dry-run")
    r = publish_from(admin, r)
    assert r.status_code == 302
    page = admin.get(r.headers["Location"]).get_data(as_text=True)
    assert "effective from 2099-01-02" in page
    old, new = lapor_rows(factory)
    current = re.findall(r'<tr data-version="(\d+)" class="current">', page)
    assert current == [str(old.id)]  # new cases still start on the old version
    assert "2099" in re.search(rf'<tr data-version="{new.id}".*?</tr>', page, re.S).group(0)
    with factory() as s:
        assert s.get(Case, case_id).definition_id == old.id  # moves when it takes effect


def test_a_revision_that_strands_cases_is_not_offered_until_they_are_kept(app, admin, factory, registry, actor):
    (case_id,) = open_cases(factory, registry, actor, 1)
    html = check(admin, NEW_STEP_ID).get_data(as_text=True)
    assert re.search(rf'data-case="{case_id}" data-outcome="stranded"', html)
    assert text_of(html, "stranded") is not None
    assert 'data-testid="publish"' not in html
    r = check(admin, NEW_STEP_ID, keep_stranded="1")
    html = r.get_data(as_text=True)
    assert re.search(rf'data-case="{case_id}" data-outcome="stays"', html)
    r = publish_from(admin, r)
    assert r.status_code == 302
    with factory() as s:
        assert s.get(Case, case_id).definition_id == lapor_rows(factory)[0].id  # kept on its version


def test_an_uploaded_file_is_checked_and_its_text_put_in_the_editor(app, admin, factory):
    page = admin.get("/admin/sunting").get_data(as_text=True)
    data = dict(form_with(page, testid="editor-form").fields)
    data.update({"do": "check", "file": (__import__("io").BytesIO(REVISED.replace("\n", "\r\n").encode()), "sop.yaml")})
    r = admin.client.post("/admin/sunting", data=data, content_type="multipart/form-data")
    assert r.status_code == 200, r.get_data(as_text=True)[:2000]
    html = r.get_data(as_text=True)
    assert form_with(html, testid="editor-form").fields["source"] == REVISED  # CRLF read as a file is read
    assert 'data-testid="publish"' in html


def test_the_text_already_published_is_said_so_and_not_offered_again(app, admin):
    html = check(admin, SOURCE).get_data(as_text=True)
    assert text_of(html, "already-published") is not None
    assert 'data-testid="publish"' not in html


def test_a_text_declaring_another_sop_is_pointed_out(app, admin):
    other = SOURCE.replace("id: laporisp4n", "id: lapor_baru", 1)
    html = check(admin, other).get_data(as_text=True)
    assert "lapor_baru" in text_of(html, "other-sop")
    assert "A new SOP" in text_of(html, "dry-run")


@given(text=st.text(alphabet=st.sampled_from("ab \n\r\t:-#é"), max_size=200))
def test_newlines_from_a_textarea_or_a_file_give_the_same_text(text):
    once = drafts.normalise_newlines(text)
    assert "\r" not in once and drafts.normalise_newlines(once) == once
    assert drafts.normalise_newlines(once.replace("\n", "\r\n")) == once  # what a browser sends
    assert drafts.decode_upload(b"\xef\xbb\xbf" + once.replace("\n", "\r\n").encode()) == once  # BOM, CRLF


# -- the editor: a stale form is checked again ------------------------------------------------------
def test_a_text_changed_after_its_check_is_checked_again_not_published(app, admin, factory):
    before = definitions_count(factory)
    checked = check(admin, REVISED)
    r = publish_from(admin, checked, source=RENAMED_STEP)  # typed into the box after "Periksa"
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert "changed after it was checked" in text_of(html, "editor-message")
    assert definitions_count(factory) == before
    assert form_with(html, testid="editor-form").fields["source"] == RENAMED_STEP
    r = publish_from(admin, r)  # now checked: it publishes
    assert r.status_code == 302
    assert lapor_rows(factory)[-1].source == RENAMED_STEP


def test_a_version_published_meanwhile_makes_the_form_stale(app, admin, factory, registry):
    checked = check(admin, REVISED)
    with transaction(factory) as s:  # another admin publishes first
        revisions.publish(s, registry, revisions.plan(s, registry, RENAMED_STEP), by="other")
    count = definitions_count(factory)
    r = publish_from(admin, checked)
    assert r.status_code == 409
    assert "Another version" in text_of(r.get_data(as_text=True), "editor-message")
    assert definitions_count(factory) == count
    assert publish_from(admin, r).status_code == 302
    assert lapor_rows(factory)[-1].source == REVISED


def test_two_admins_publishing_at_once_the_second_is_checked_again(db_url, seeded, factory, registry):
    """On PostgreSQL both checks may see the same newest version; the lock on it makes the second
    publish wait for the first and then find it (SQLite serialises writers by itself)."""
    import threading
    import time

    if not db_url.startswith("postgresql"):
        pytest.skip("a race between two open transactions needs PostgreSQL")
    with factory() as s:
        first = drafts.check_draft(s, registry, REVISED)
        second = drafts.check_draft(s, registry, RENAMED_STEP)
    assert first.stamp.base == second.stamp.base
    s1 = factory()
    s1.begin()
    done = drafts.publish_draft(s1, registry, REVISED, by="a", checked=first.stamp)
    assert isinstance(done, revisions.Published)
    results = []

    def other_admin():
        with transaction(factory) as s2:
            results.append(drafts.publish_draft(s2, registry, RENAMED_STEP, by="b", checked=second.stamp))

    thread = threading.Thread(target=other_admin)
    thread.start()
    time.sleep(0.5)
    assert thread.is_alive()  # waiting for the first admin's transaction
    s1.commit()
    s1.close()
    thread.join(timeout=20)
    (result,) = results
    assert isinstance(result, drafts.DraftCheck) and result.stale == ("version published",)
    assert [r.source for r in lapor_rows(factory)][1:] == [REVISED]
    with transaction(factory) as s2:  # the page it returns offers a publish against the new version
        assert isinstance(drafts.publish_draft(s2, registry, RENAMED_STEP, by="b", checked=result.stamp),
                          revisions.Published)


def test_cases_moving_or_options_changing_after_the_check_make_the_form_stale(app, admin, factory, registry, actor):
    checked = check(admin, NEW_STEP_ID, keep_stranded="1")
    open_cases(factory, registry, actor, 1)  # a new case the dry run did not show
    r = publish_from(admin, checked)
    assert r.status_code == 409
    assert "dry run" in text_of(r.get_data(as_text=True), "editor-message")
    r = publish_from(admin, r, keep_stranded="")  # unticked after the check
    assert r.status_code == 409
    assert len(lapor_rows(factory)) == 1


# -- hostile input ----------------------------------------------------------------------------------
def _post(admin: Visitor, url: str = "/admin/sunting", **data):
    page = admin.get(url).get_data(as_text=True)
    fields = dict(form_with(page, testid="editor-form").fields)
    fields.update({"do": "check", **data})
    return admin.client.post(url, data=fields, content_type="multipart/form-data")


def test_hostile_input_gets_a_message_not_a_500(app, admin, factory):
    import io

    before = definitions_count(factory)
    limit = drafts.MAX_BYTES
    cases = {
        "huge text": (dict(source="a" * (limit + 10)), 413, "larger than"),
        "far too huge text": (dict(source="a" * (3 * limit)), 413, "larger than"),
        "huge upload": (dict(file=(io.BytesIO(b"a" * (limit + 10)), "big.yaml")), 400, "larger than"),
        "binary upload": (dict(file=(io.BytesIO(b"\x7fELF\x02\x01\x00\x00" * 50), "sop")), 400, "not text"),
        "not UTF-8": (dict(file=(io.BytesIO("id: café\n".encode("latin-1")), "x.yaml")), 400, "not UTF-8"),
        "not a mapping": (dict(source="- just\n- a list\n"), 400, "must be a mapping"),
        "NUL in the text": (dict(source="id: a\x00b\n"), 400, ""),
        "bad date": (dict(source=REVISED, effective="31-31-2026"), 400, "date"),
    }
    for name, (data, status, words) in cases.items():
        r = _post(admin, **data)
        assert r.status_code == status, (name, r.status_code)
        html = r.get_data(as_text=True)
        assert "Traceback" not in html
        assert words in html, name
    r = admin.client.post("/admin/sunting", data={"source": REVISED, "do": "check"})  # no CSRF token
    assert r.status_code == 400
    assert definitions_count(factory) == before


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
def test_any_text_is_answered_with_a_check_never_a_500(app, admin, text):
    r = _post(admin, source=text)
    assert r.status_code in (200, 400), r.status_code
    assert 'data-testid="check-result"' in r.get_data(as_text=True)


HOSTILE = (st.text(max_size=40) | st.sampled_from(["\x00", "١", "9" * 30, "-1", "0", "2026-02-30", "0001-01-01",
                                                   "9999-12-31", "\u202e", "laporisp4n", "publish", "check"]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_control_of_the_editor_with_hostile_values(app, admin, factory, data):
    """Each control of the editor kept, dropped or hostile, on a checked page: below 500, and a
    publish happens only for the text and stamp of that check."""
    page = admin.get(EDIT).get_data(as_text=True)
    form = form_with(page, testid="editor-form")
    fields = {"csrf_token": form.fields["csrf_token"], "source": REVISED, "do": "check", "keep_stranded": "",
              "effective": "", "checked_version": "", "checked_base": "", "checked_plan": ""}
    for name in list(fields)[1:]:
        choice = data.draw(st.sampled_from(["keep", "drop", "hostile"]), label=name)
        if choice == "drop":
            fields.pop(name)
        elif choice == "hostile":
            fields[name] = data.draw(HOSTILE, label=f"{name}=")
    before = definitions_count(factory)
    r = admin.client.post(EDIT, data=fields, content_type="multipart/form-data")
    assert r.status_code < 500, (fields, r.status_code)
    assert definitions_count(factory) == before  # no stamp of a real check: nothing is published


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(route="/admin/sop/{}", value="/0")  # found by Hypothesis in CI: a 308 to /admin/sop/0
@given(route=st.sampled_from(["/admin/sop/{}", "/admin/sunting/{}", "/admin/versi/{}", "/admin/versi/{}/diagram.mmd",
                              "/admin/beda/1/{}", "/admin/beda/{}/1", "/admin/sunting/laporisp4n?dari={}"]),
       value=HOSTILE | st.integers(min_value=0, max_value=2**70).map(str))
def test_every_admin_address_with_hostile_arguments(app, admin, route, value):
    from urllib.parse import quote, urlsplit

    r = admin.get(route.format(quote(value, safe="")))
    if r.status_code == 308:  # "//" (a value starting with "/"): Werkzeug merges the slashes, same site
        location = urlsplit(r.headers["Location"])
        assert location.netloc in ("", "localhost") and location.path.startswith("/admin/"), location
        assert "//" not in location.path, location
        return
    assert r.status_code in (200, 404), (route, value, r.status_code)


# -- the CLI and the demo -----------------------------------------------------------------------------
def test_sop_user_add_admin_creates_an_admin_without_a_role(capsys, tmp_path, monkeypatch):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    args = ["--database", db, "--definitions", str(DEFINITIONS)]
    assert main(["db", "upgrade", "--database", db]) == 0
    monkeypatch.setenv("SOP_NEW_PASSWORD", "kuda-lari-cepat-77")
    assert main(["user", "add", "penerbit", *args]) == 2  # neither a role nor --admin
    assert "--admin" in capsys.readouterr().err
    assert main(["user", "add", "penerbit", "--admin", *args]) == 0
    assert "admin capability" in capsys.readouterr().out
    assert main(["user", "add", "kadis2", "--role", "kadis", "--admin", *args]) == 0
    engine = make_engine(db)
    with session_factory(engine)() as s:
        users = {u.username: u for u in s.scalars(select(User))}
        assert users["penerbit"].is_admin and users["penerbit"].role_ids == frozenset()
        assert users["kadis2"].is_admin and users["kadis2"].role_ids == {"kadis"}
        assert services.actor_for(users["penerbit"]).admin
    engine.dispose()


def test_sop_demo_prints_the_admin_account(capsys, tmp_path):
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["demo", "--database", db, "--definitions", str(DEFINITIONS)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^\s+admin_sop\s+demo-sop-2026\s+admin", out, re.M)
