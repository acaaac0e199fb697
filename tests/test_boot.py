"""A start-up problem halts gunicorn with the runner's message and hint, instead of respawning
workers in a loop (which is what raising SystemExit from ``create_app`` used to cause)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from conftest import DEFINITIONS

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gunicorn_halts_on_a_database_without_tables(tmp_path):
    env = {**os.environ, "SOP_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}",
           "SOP_DEFINITIONS": str(DEFINITIONS), "SECRET_KEY": "k", "SOP_INSTANCE_PATH": str(tmp_path)}
    started = time.monotonic()
    proc = subprocess.run([str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{_free_port()}",
                           "web:create_app()"], env=env, capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert "Worker failed to boot" in output, output
    assert "has no SOP Runner tables" in output and "hint: run `sop db upgrade`" in output, output
    assert output.count("Booting worker") <= 2, "workers were respawned"
    assert time.monotonic() - started < 30
