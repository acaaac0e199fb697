"""Notifications: the outbox written with each step and delivered over SMTP to a real local server
(aiosmtpd, started by a fixture on a free port).

The issue's done-when: an email reaches the local SMTP server when an answer is sent, exactly once
with two workers running. Around it: the reporter reads only what the tracking page shows (never a
staff note), staff at the next step are told, a failing server neither blocks nor rolls back a step
and its messages are retried with backoff and finally marked failed."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from conftest import DEFINITIONS, LAPOR, REPORT
from runner import services
from runner.cli import main as sop
from runner.definition import load_text
from runner.engine import Actor
from runner.errors import ConfigurationError, DefinitionError, InvalidInput
from runner.services import outbox, people
from runner.services.escalations import record_escalations
from runner.services.pauses import pause_case
from runner.store import Case, OutboxMessage, User, transaction
from web_helpers import ANSWER, STEPS, Visitor

REPO = Path(__file__).resolve().parents[1]
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))  # a Tuesday, 09:00 WIB
REPORTER = "budi.santoso@example.com"
STAFF = {"admin_utama": "admin.utama@kapuashulu.example", "kadis": "kadis@kapuashulu.example",
         "operator_opd.dinkes": "operator.dinkes@kapuashulu.example",
         "operator_opd.disdik": "operator.disdik@kapuashulu.example"}


# -- the local SMTP server ----------------------------------------------------------------------------
class Mailbox:
    """What the server received; ``data_reply`` / ``rcpt_reply`` make it refuse (e.g. "451 …")."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.data_reply: str | None = None
        self.rcpt_reply: str | None = None
        self.delay = 0.0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.data_reply:
            return self.data_reply
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mailbox():
    box = Mailbox()
    port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    box.url = f"smtp://127.0.0.1:{port}"
    yield box
    controller.stop()


# -- helpers ----------------------------------------------------------------------------------------
def _emails(factory, addresses: dict[str, str]) -> None:
    with transaction(factory) as s:
        for username, address in addresses.items():
            outbox.set_account_email(s, people.find_user(s, username), address)


def _report(factory, registry, *, contact: str = REPORTER, language: str | None = None, now=T0, **extra) -> int:
    with transaction(factory) as s:
        return services.start_case(s, registry, "laporisp4n", "pengaduan", {**REPORT, "kontak_pelapor": contact, **extra},
                                   actor=Actor.public("pelapor"), now=now, language=language).id


def _walk(factory, registry, actor, case_id: int, upto: int, now=T0, first: int = 1) -> dt.datetime:
    for no, user, action, fields in STEPS[first - 1: upto - 1]:
        now += dt.timedelta(minutes=5)
        raw = {**fields, "jawaban": STEPS[5][3]["jawaban"]} if no == 8 else fields
        with transaction(factory) as s:
            services.perform_step(s, registry, case_id, actor(user), action, raw, expected_version=None, now=now)
    return now


def _rows(factory, **where) -> list[OutboxMessage]:
    with factory() as s:
        rows = list(s.scalars(select(OutboxMessage).filter_by(**where).order_by(OutboxMessage.id)))
        for r in rows:
            s.expunge(r)
        return rows


def _deliver(factory, box: Mailbox, now, **kw) -> outbox.Delivery:
    return outbox.deliver(factory, box.url, now, sender="lapor@kapuashulu.example",
                          base_url="https://lapor.kapuashulu.example", **kw)


def _body(message) -> str:
    return message.get_content()


# -- the done-when ------------------------------------------------------------------------------------
def test_an_answered_report_emails_the_reporter_once_with_the_public_answer(factory, registry, seeded, actor, mailbox):
    _emails(factory, STAFF)
    case_id = _report(factory, registry, language="en")
    end = _walk(factory, registry, actor, case_id, 10)
    with factory() as s:
        code = s.get(Case, case_id).tracking_code
        assert s.get(Case, case_id).state == "selesai"

    report = _deliver(factory, mailbox, end)
    assert report.failed == report.retried == 0 and report.sent == len(mailbox.messages)
    mine = mailbox.to(REPORTER)
    # received, forwarded to the OPD (notify.reporter.steps), finished: in the language they wrote in
    assert [m["Subject"].split("] ", 1)[1] for m in mine] == [
        f"Your submission was received ({code})",
        f"News of your submission ({code}): Report being followed up by the regional agency concerned",
        f"Your submission is finished ({code})"]
    answered = mine[-1]
    text = _body(answered)
    assert code in text and ANSWER in text
    assert f"https://lapor.kapuashulu.example/lacak?kode={code}" in text
    # never a staff note, whatever step wrote it
    for _no, _user, _action, fields in STEPS:
        for key, value in fields.items():
            if key not in ("jawaban_akhir", "kanal", "opd_tujuan") and isinstance(value, str):
                assert value not in text, key
    assert all(value not in _body(m) for m in mine for value in ("Laporan lengkap.", "Disetujui.", "Segera."))
    assert answered["From"] == "lapor@kapuashulu.example" and answered["Auto-Submitted"] == "auto-generated"

    # delivered once: another run finds nothing
    before = len(mailbox.messages)
    assert _deliver(factory, mailbox, end + dt.timedelta(days=1)).sent == 0
    assert len(mailbox.messages) == before


def test_staff_who_may_act_at_the_new_step_are_told_once(factory, registry, seeded, actor, mailbox):
    _emails(factory, STAFF)
    case_id = _report(factory, registry)
    end = _walk(factory, registry, actor, case_id, 6)  # now at step 6 (pejabat_penghubung.dinkes: no email)
    _deliver(factory, mailbox, end)
    kadis = mailbox.to(STAFF["kadis"])
    assert len(kadis) == 1 and f"#{case_id}" in kadis[0]["Subject"] and "langkah 4." in kadis[0]["Subject"]
    assert f"https://lapor.kapuashulu.example/kasus/{case_id}" in _body(kadis[0])
    # admin_utama: step 1 (a citizen filed it); steps 2 and 3 they reached by their own hand
    assert ["langkah 1." in m["Subject"] for m in mailbox.to(STAFF["admin_utama"])] == [True]
    assert len(mailbox.to(STAFF["operator_opd.dinkes"])) == 1  # step 5, in the unit the case went to
    assert mailbox.to(STAFF["operator_opd.disdik"]) == []  # another unit's operator is not told
    # staff messages carry no identifying field of the reporter
    assert all(REPORT["nama_pelapor"] not in _body(m) for m in mailbox.messages if m["To"] != REPORTER)


def test_a_delegate_is_told_of_work_in_the_role_lent_to_them(factory, registry, seeded, actor, mailbox):
    from runner.services import delegations

    _emails(factory, {"operator_opd.disdik": STAFF["operator_opd.disdik"]})
    with transaction(factory) as s:
        delegations.delegate(s, registry, None, role="operator_opd", unit_id="dinkes", to="operator_opd.disdik",
                             starts_at=T0 - dt.timedelta(days=1), ends_at=T0 + dt.timedelta(days=30),
                             reason="Cuti", kind="plh", holder="operator_opd.dinkes", created_by="test")
    case_id = _report(factory, registry, contact="0812")
    end = _walk(factory, registry, actor, case_id, 5)  # the kadis sends it to dinkes: step 5
    _deliver(factory, mailbox, end)
    told = mailbox.to(STAFF["operator_opd.disdik"])
    assert len(told) == 1 and "langkah 5." in told[0]["Subject"]


def test_escalations_are_emailed_to_the_roles_they_name(factory, registry, seeded, actor, mailbox):
    _emails(factory, {"kadis": STAFF["kadis"]})
    case_id = _report(factory, registry, contact="0812")
    _walk(factory, registry, actor, case_id, 5)
    later = T0 + dt.timedelta(days=14)
    for _ in range(2):  # tick twice: recorded (and emailed) once
        with transaction(factory) as s:
            record_escalations(s, registry, later)
    _deliver(factory, mailbox, later)
    escalated = [m for m in mailbox.to(STAFF["kadis"]) if m["Subject"].startswith("[") and "Eskalasi" in m["Subject"]]
    assert len(escalated) == 1 and f"#{case_id}" in escalated[0]["Subject"]


def test_on_hold_tells_the_reporter_the_reason_never_the_note(factory, registry, seeded, actor, mailbox):
    case_id = _report(factory, registry)
    _walk(factory, registry, actor, case_id, 2)
    with transaction(factory) as s:
        pause_case(s, registry, case_id, actor("admin_utama"), "menunggu_pelapor", "Catatan internal: telepon dulu",
                   expected_version=None, now=T0 + dt.timedelta(hours=1))
    _deliver(factory, mailbox, T0 + dt.timedelta(hours=1))
    held = [m for m in mailbox.to(REPORTER) if "ditunda" in m["Subject"]]
    assert len(held) == 1
    text = _body(held[0])
    assert "Menunggu kelengkapan data dari pelapor" in text and "Catatan internal" not in text


def test_a_confidential_report_is_told_its_status_only(factory, registry, seeded, actor, mailbox):
    case_id = _report(factory, registry, _rahasia="on")
    end = _walk(factory, registry, actor, case_id, 10)
    _deliver(factory, mailbox, end)
    finished = [m for m in mailbox.to(REPORTER) if "selesai" in m["Subject"]]
    assert len(finished) == 1 and ANSWER not in _body(finished[0])
    assert "rahasia" in _body(finished[0])


def test_no_email_without_an_address_or_for_a_phone_number(factory, registry, seeded, actor):
    case_id = _report(factory, registry, contact="0812 5678 9012")
    _walk(factory, registry, actor, case_id, 10)
    assert _rows(factory, case_id=case_id) == []  # and no staff account has an email


# -- failures ---------------------------------------------------------------------------------------
def test_a_failing_server_never_rolls_back_the_step_and_is_retried_with_backoff_then_failed(
        factory, registry, seeded, actor, mailbox):
    mailbox.data_reply = "451 4.3.0 Mail server temporarily unavailable"
    case_id = _report(factory, registry)
    _walk(factory, registry, actor, case_id, 2)  # the step is taken whatever the mail server says
    with factory() as s:
        assert s.get(Case, case_id).state == "verifikasi_laporan"
    [row] = _rows(factory, case_id=case_id)
    now = T0 + dt.timedelta(minutes=10)
    delays = []
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        report = _deliver(factory, mailbox, now)
        assert (report.retried, report.failed) == ((1, 0) if attempt < outbox.MAX_ATTEMPTS else (0, 1))
        [row] = _rows(factory, id=row.id)
        assert row.attempts == attempt and "451" in row.last_error and REPORTER not in row.last_error
        if attempt < outbox.MAX_ATTEMPTS:
            assert row.status == outbox.PENDING
            assert _deliver(factory, mailbox, now + dt.timedelta(seconds=30)).retried == 0  # not due yet
            delays.append(row.next_attempt_at - now)
            now = row.next_attempt_at
    assert delays == [dt.timedelta(minutes=2 ** k) for k in range(outbox.MAX_ATTEMPTS - 1)]
    assert row.status == outbox.FAILED and row.sent_at is None
    mailbox.data_reply = None  # the server is back: a failed message stays failed
    assert _deliver(factory, mailbox, now + dt.timedelta(days=30)).sent == 0 and mailbox.messages == []


def test_a_refused_recipient_is_failed_at_once(factory, registry, seeded, mailbox):
    mailbox.rcpt_reply = "550 5.1.1 No such user"
    case_id = _report(factory, registry)
    report = _deliver(factory, mailbox, T0)
    [row] = _rows(factory, case_id=case_id)
    assert report.failed == 1 and row.status == outbox.FAILED and row.attempts == 1 and "550" in row.last_error


def test_an_unreachable_server_stops_the_run_and_keeps_the_messages(factory, registry, seeded):
    for _ in range(3):
        _report(factory, registry)
    report = outbox.deliver(factory, f"smtp://127.0.0.1:{_free_port()}", T0, timeout=2)
    assert report.retried == 1 and report.stopped  # the others were not even claimed
    statuses = sorted((r.status, r.attempts) for r in _rows(factory))
    assert statuses == [(outbox.PENDING, 0), (outbox.PENDING, 0), (outbox.PENDING, 1)]


def test_a_worker_that_died_mid_send_leaves_the_message_to_another_after_its_lease(factory, registry, seeded, mailbox):
    case_id = _report(factory, registry)
    claimed = outbox._claim(factory, T0, outbox.LEASE)  # claimed, then the worker vanished
    assert claimed is not None
    assert _deliver(factory, mailbox, T0 + dt.timedelta(minutes=1)).sent == 0  # still its claim
    assert _deliver(factory, mailbox, T0 + outbox.LEASE + dt.timedelta(seconds=1)).sent == 1
    assert outbox._finish(factory, claimed, status=outbox.SENT) is False  # the late worker cannot overwrite
    [row] = _rows(factory, case_id=case_id)
    assert row.status == outbox.SENT and row.attempts == 2


# -- several workers --------------------------------------------------------------------------------
def test_two_workers_send_each_message_exactly_once(factory, registry, seeded, actor, mailbox):
    """The done-when with two workers: on PostgreSQL they claim with FOR UPDATE SKIP LOCKED, on
    SQLite with the guarded UPDATE; either way every message reaches the server once."""
    _emails(factory, STAFF)
    answered = _report(factory, registry)
    end = _walk(factory, registry, actor, answered, 10)
    for k in range(30):
        _report(factory, registry, contact=f"pelapor{k}@example.com", now=T0 + dt.timedelta(seconds=k))
    queued = {r.id for r in _rows(factory)}
    mailbox.delay = 0.005  # the two workers' sends overlap
    start = threading.Barrier(2)
    results: list[outbox.Delivery] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            results.append(_deliver(factory, mailbox, end + dt.timedelta(minutes=1), limit=1000))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    ids = [m["Message-ID"] for m in mailbox.messages]
    assert len(ids) == len(set(ids)) == len(queued) == sum(r.sent for r in results)
    assert {int(i.split("-")[2].split("@")[0]) for i in ids} == queued
    assert len([m for m in mailbox.to(REPORTER) if "selesai" in m["Subject"]]) == 1
    assert {r.status for r in _rows(factory)} == {outbox.SENT}


# -- the commands -----------------------------------------------------------------------------------
def test_tick_delivers_with_an_smtp_url_and_says_what_waits_without(factory, registry, seeded, db_url, mailbox,
                                                                    monkeypatch, capsys):
    args = ["--database", db_url, "--definitions", str(DEFINITIONS)]
    _report(factory, registry)
    monkeypatch.delenv("SOP_SMTP_URL", raising=False)
    assert sop(["tick", *args]) == 0
    assert "1 email(s) waiting: set SOP_SMTP_URL" in capsys.readouterr().out
    monkeypatch.setenv("SOP_SMTP_URL", mailbox.url)
    monkeypatch.setenv("SOP_MAIL_FROM", "noreply@kapuashulu.example")
    assert sop(["tick", *args]) == 0
    assert "emails: 1 sent, 0 to retry, 0 failed" in capsys.readouterr().out
    assert [m["From"] for m in mailbox.messages] == ["noreply@kapuashulu.example"]
    monkeypatch.setenv("SOP_SMTP_URL", "http://mail.example")
    assert sop(["tick", *args]) == 1
    assert "SOP_SMTP_URL has scheme 'http'" in capsys.readouterr().err


def test_the_worker_delivers_and_stops_cleanly_on_sigterm(tmp_path, mailbox):
    db = f"sqlite:///{tmp_path / 'w.db'}"
    env = {**os.environ, "SOP_SMTP_URL": mailbox.url, "SOP_NEW_PASSWORD": "kata-sandi-panjang-2026"}
    base = [sys.executable, "-m", "runner.cli"]
    opts = ["--database", db, "--definitions", str(DEFINITIONS)]
    subprocess.run([*base, "demo", *opts], env=env, check=True, capture_output=True, cwd=REPO)
    assert subprocess.run([*base, "user", "email", "admin_utama", STAFF["admin_utama"], *opts], env=env,
                          capture_output=True, cwd=REPO).returncode == 0
    from runner.store import make_engine, session_factory
    from runner.registry import Registry

    engine = make_engine(db)
    _report(session_factory(engine), Registry.from_directory(DEFINITIONS), now=dt.datetime.now(dt.timezone.utc))
    engine.dispose()
    proc = subprocess.Popen([*base, "worker", "--interval", "0.2", *opts], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while len(mailbox.messages) < 2 and time.monotonic() < deadline:  # the reporter's and admin_utama's
            time.sleep(0.1)
        assert sorted(m["To"] for m in mailbox.messages) == sorted([REPORTER, STAFF["admin_utama"]])
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "worker started" in out and "worker stopped" in out
    assert len(mailbox.messages) == 2  # nothing sent twice over the rounds


def test_user_email_commands(factory, seeded, db_url, capsys):
    args = ["--database", db_url, "--definitions", str(DEFINITIONS)]
    assert sop(["user", "email", "kadis", " Kadis@KapuasHulu.Example ", *args]) == 0
    assert "user kadis: email Kadis@kapuashulu.example" in capsys.readouterr().out
    assert sop(["user", "email", "kadis", "not an address", *args]) == 1
    assert "is not an email address" in capsys.readouterr().err
    assert sop(["user", "email", "nobody", "a@b.example", *args]) == 1
    assert sop(["user", "email", "kadis", *args]) == 0
    assert "no email" in capsys.readouterr().out
    assert sop(["user", "add", "kasi2", "--role", "kasi", "--email", "0812", *args]) == 2
    assert "is not an email address" in capsys.readouterr().err
    with factory() as s:
        assert s.scalar(select(User.email).where(User.username == "kadis")) is None
        assert s.scalar(select(User).where(User.username == "kasi2")) is None


def test_the_admin_sets_an_account_email_on_its_page(app, factory, staff):
    admin = staff("admin_sop")
    with admin.client.session_transaction() as s:
        s["lang"] = "en"
    r = admin.submit("/admin/orang/akun/kadis", {"email": "kadis@kapuashulu.example"}, testid="email-form",
                     follow_redirects=True)
    assert r.status_code == 200 and "Email of kadis saved." in r.get_data(as_text=True)
    assert 'value="kadis@kapuashulu.example"' in admin.get("/admin/orang/akun/kadis").get_data(as_text=True)
    r = admin.submit("/admin/orang/akun/kadis", {"email": "kadis at kantor"}, testid="email-form",
                     follow_redirects=True)
    assert r.status_code == 200 and "is not an email address" in r.get_data(as_text=True)
    with factory() as s:
        assert s.scalar(select(User.email).where(User.username == "kadis")) == "kadis@kapuashulu.example"


def test_a_public_submission_records_its_language(app, citizen, factory):
    with citizen.client.session_transaction() as s:
        s["lang"] = "en"
    r = citizen.submit("/lapor/laporisp4n/pengaduan", {**REPORT, "kontak_pelapor": REPORTER}, control="judul")
    assert r.status_code == 302
    [row] = _rows(factory, kind="reporter.received")
    assert row.lang == "en" and row.recipient == REPORTER


# -- the definition and the settings ------------------------------------------------------------------
@pytest.mark.parametrize("old,new,message", [
    ("        email_field: kontak_pelapor\n", "        email_field: kontak\n", "'kontak' is not an intake field"),
    ("        email_field: kontak_pelapor\n", "        email_field: lokasi\n", None),  # a text field: allowed
    ("        steps: [terima_disposisi]\n", "        steps: [rekap_laporan]\n",
     "'rekap_laporan' is not an activity of flow 'pengaduan'"),
    ("        events: [received, on_hold, finished]\n", "        events: [received, answered]\n", "answered"),
])
def test_notify_is_checked_where_it_is_written(old, new, message):
    text = LAPOR.read_text(encoding="utf-8")
    assert old in text
    if message is None:
        load_text(text.replace(old, new, 1), "x.yaml")
        return
    with pytest.raises(DefinitionError) as exc:
        load_text(text.replace(old, new, 1), "x.yaml")
    assert message in str(exc.value)


def test_the_sops_say_whom_they_email():
    lapor = load_text(LAPOR.read_text(encoding="utf-8"))
    notify = lapor.flow("pengaduan").notify
    assert notify.staff == ("new_work", "escalation")
    assert notify.reporter.email_field == "kontak_pelapor" and notify.reporter.steps == ("terima_disposisi",)
    ppid = load_text((DEFINITIONS / "ppid.yaml").read_text(encoding="utf-8"))
    assert {f.id: f.notify.reporter.email_field for f in ppid.case_flows} == {"permohonan": "email", "keberatan": "email"}


@pytest.mark.parametrize("url,expected", [
    ("smtp://mail.example", ("smtp", "mail.example", 25, None, None)),
    ("smtp+starttls://u%40x:p%3Aw@mail.example:2525", ("smtp+starttls", "mail.example", 2525, "u@x", "p:w")),
    ("smtps://user:secret@mail.example", ("smtps", "mail.example", 465, "user", "secret")),
])
def test_smtp_urls(url, expected):
    t = outbox.parse_smtp_url(url)
    assert (t.scheme, t.host, t.port, t.username, t.password) == expected


@pytest.mark.parametrize("url", ["mail.example", "http://mail.example", "smtp://", "smtp://host:99999"])
def test_bad_smtp_urls_say_what_is_wrong(url):
    with pytest.raises(ConfigurationError) as exc:
        outbox.parse_smtp_url(url)
    assert "SOP_SMTP_URL" in str(exc.value) and "hint:" in str(exc.value)


@pytest.mark.parametrize("text,expected", [
    ("budi@example.com", "budi@example.com"), ("  Budi@Example.COM ", "Budi@example.com"),
    ("0812 3456 7890", None), ("budi@example", None), ("a@b.example, c@d.example", None),
    ("Budi <budi@example.com>", None), ("budi@example.com\nBcc: x@y.example", None), ("", None), (None, None),
])
def test_addresses(text, expected):
    assert outbox.normalise_email(text) == expected


def test_backoff_doubles_up_to_six_hours():
    assert [outbox.backoff(n).total_seconds() / 60 for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert outbox.backoff(100) == dt.timedelta(hours=6)


def test_set_account_email_refuses_what_is_not_an_address(factory, seeded):
    with transaction(factory) as s:
        with pytest.raises(InvalidInput):
            outbox.set_account_email(s, people.find_user(s, "kadis"), "kadis")


@pytest.mark.parametrize("sender,expected", [
    ("lapor@kapuashulu.example", "lapor@kapuashulu.example"),
    ("LAPOR Kapuas Hulu <lapor@kapuashulu.example>", "LAPOR Kapuas Hulu <lapor@kapuashulu.example>"),
])
def test_the_sender_may_carry_a_name(sender, expected):
    assert outbox.check_sender(sender) == expected


@pytest.mark.parametrize("sender", ["", "lapor", "a@b.example\nBcc: c@d.example", "<>"])
def test_a_bad_sender_is_a_configuration_error_before_anything_is_claimed(factory, registry, seeded, mailbox, sender):
    _report(factory, registry)
    with pytest.raises(ConfigurationError) as exc:
        outbox.deliver(factory, mailbox.url, T0, sender=sender)
    assert "SOP_MAIL_FROM" in str(exc.value)
    assert [(r.status, r.attempts) for r in _rows(factory)] == [(outbox.PENDING, 0)]


def test_the_default_sender_is_accepted():
    from runner.settings import Settings

    assert outbox.check_sender(Settings.from_env({}).mail_from) == "sop-runner@localhost"


def test_a_message_that_cannot_be_composed_costs_only_itself(factory, registry, seeded, actor, monkeypatch, caplog):
    case_id = _report(factory, registry)

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in composing")

    monkeypatch.setattr(outbox, "_performed", broken)
    _walk(factory, registry, actor, case_id, 2)
    with factory() as s:
        assert s.get(Case, case_id).state == "verifikasi_laporan"  # the step committed
    assert [r.kind for r in _rows(factory, case_id=case_id)] == ["reporter.received"]
    assert "outbox.compose_failed" in caplog.text and REPORTER not in caplog.text
