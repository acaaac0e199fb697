"""Starting up safely: one secret key for workers that start together, and a database that cannot be
reached is one clear line, not a traceback."""

from __future__ import annotations

import multiprocessing
import socket

import pytest

from runner.cli import main as sop
from runner.settings import instance_secret_key


def _key(folder: str, queue) -> None:  # runs in a child process
    from pathlib import Path

    queue.put(instance_secret_key(Path(folder)))


def test_workers_starting_together_without_secret_key_share_one_key(tmp_path):
    ctx = multiprocessing.get_context("fork")
    for round_ in range(5):
        folder = tmp_path / f"instance{round_}"
        queue = ctx.Queue()
        procs = [ctx.Process(target=_key, args=(str(folder), queue)) for _ in range(8)]
        for p in procs:
            p.start()
        keys = [queue.get(timeout=30) for _ in procs]
        for p in procs:
            p.join(timeout=30)
        assert len(set(keys)) == 1 and len(keys[0]) == 64, keys
        assert (folder / "secret_key").read_text() == keys[0]
        assert (folder / "secret_key").stat().st_mode & 0o077 == 0  # readable by its owner only
        assert [p.name for p in folder.iterdir()] == ["secret_key"]  # no temporary file left behind


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("command", [["db", "upgrade"], ["load", "--definitions", "sop_definitions"], ["check-db"]])
def test_an_unreachable_database_is_one_line_and_exit_1(capsys, command):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/nowhere?connect_timeout=3"
    code = sop([*command, "--database", url])
    err = capsys.readouterr().err
    assert code == 1
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: ") and "SOP_DATABASE_URL" in err and "Traceback" not in err


def test_rate_limits_are_set_from_the_environment(monkeypatch, db_url, seeded):
    from web_helpers import dispose, make_app

    monkeypatch.setenv("SOP_LIMIT_TRACK", "2 per minute")
    app = make_app(db_url, RATELIMIT_ENABLED=True)
    try:
        client = app.test_client()
        assert [client.get("/lacak").status_code for _ in range(3)] == [200, 200, 429]
    finally:
        dispose(app)
