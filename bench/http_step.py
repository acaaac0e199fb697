"""Target 3: an authenticated HTTP step, and how throughput scales with gunicorn workers.

* ``http-step``: the POST of the real step form (LAPOR step 2, *valid*) to a gunicorn worker, timed
  from the client until the redirect arrives, vs the persisted step alone (``services.perform_step``
  in its transaction, in-process) on the same database; batches alternate. Limit ≤ 1.5×.
* ``workers-2-vs-1`` (with ``--postgres URL``): steps per second with 4 client threads against 2
  gunicorn workers vs against 1, each thread posting steps on cases of its own; any answer other
  than the redirect (or a 409 for a stale form) counts as an error and must be 0. Limit ≥ 1.8×.

    .venv/bin/python bench/http_step.py [--quick] [--postgres postgresql+psycopg://postgres@127.0.0.1/bench]
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from common import ROOT, Target, arguments, demo_database, report, reset_postgres
from persist import STEP2, _cases_at_step_2, _ours

GUNICORN = str(Path(sys.executable).parent / "gunicorn")
PASSWORD = "demo-sop-2026"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server:
    def __init__(self, url: str, workers: int):
        self.port = _free_port()
        env = {**os.environ, "SOP_DATABASE_URL": url, "SECRET_KEY": "bench-only-secret-key-0123456789",
               "SOP_DEFINITIONS": str(ROOT / "sop_definitions"), "SOP_LOG_LEVEL": "WARNING",
               "SOP_LIMIT_LOGIN_ACCOUNT": "100000 per minute", "SOP_LIMIT_LOGIN_ADDRESS": "100000 per minute",
               "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen([GUNICORN, "-c", "python:web.gunicorn_conf", "--workers", str(workers),
                                      "--bind", f"127.0.0.1:{self.port}", "web:create_app()"],
                                     env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


class _Client:
    """One signed-in staff member over one keep-alive connection."""

    def __init__(self, port: int, username: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}
        page = self.request("GET", "/masuk")[1]
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        status, _ = self.request("POST", "/masuk", {"csrf_token": token, "username": username, "password": PASSWORD})
        assert status == 302, f"login failed: {status}"
        page = self.request("GET", "/kotak-masuk")[1]
        self.token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, text

    def step(self, case_id: int) -> int:
        return self.request("POST", f"/kasus/{case_id}", {
            "csrf_token": self.token, "version": "2", "step": "verifikasi_laporan", "action": "valid", **STEP2})[0]


def _http_vs_persisted(url: str, quick: bool) -> Target:
    n, rounds = (10, 3) if quick else (100, 7)
    engine, factory, registry = demo_database(url)
    http_ids = iter(_cases_at_step_2(factory, registry, n * rounds))
    ours = _ours(factory, registry, _cases_at_step_2(factory, registry, n * rounds))
    server = _Server(url, 1)
    try:
        client = _Client(server.port, "admin_utama")
        a, b, ratios = [], [], []
        for _ in range(rounds):
            t0 = time.perf_counter()
            for _ in range(n):
                status = client.step(next(http_ids))
                assert status == 302, f"step answered {status}"
            t1 = time.perf_counter()
            for _ in range(n):
                ours()
            t2 = time.perf_counter()
            a.append((t1 - t0) / n)
            b.append((t2 - t1) / n)
            ratios.append(a[-1] / b[-1])
    finally:
        server.stop()
        engine.dispose()
    return Target(f"http-step-{'sqlite' if url.startswith('sqlite') else 'postgresql'}", statistics.median(ratios), 1.5,
                  figures=f"HTTP POST → redirect {statistics.median(a) * 1e3:.2f} ms, persisted step "
                          f"{statistics.median(b) * 1e3:.2f} ms (median of {rounds} rounds of {n})")


def _throughput(url: str, workers: int, ids: list[int], threads: int) -> tuple[float, int]:
    server = _Server(url, workers)
    errors = 0
    lock = threading.Lock()
    try:
        clients = [_Client(server.port, "admin_utama") for _ in range(threads)]
        shares = [ids[k::threads] for k in range(threads)]

        def run(client: _Client, mine: list[int]) -> None:
            nonlocal errors
            for case_id in mine:
                status = client.step(case_id)
                if status not in (302, 409):
                    with lock:
                        errors += 1
        pool = [threading.Thread(target=run, args=(c, s)) for c, s in zip(clients, shares)]
        t0 = time.perf_counter()
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        elapsed = time.perf_counter() - t0
    finally:
        server.stop()
    return len(ids) / elapsed, errors


def _workers(url: str, quick: bool) -> Target:
    n = 40 if quick else 400
    reset_postgres(url)
    engine, factory, registry = demo_database(url)
    one_ids = _cases_at_step_2(factory, registry, n)
    two_ids = _cases_at_step_2(factory, registry, n)
    engine.dispose()
    one, e1 = _throughput(url, 1, one_ids, 4)
    two, e2 = _throughput(url, 2, two_ids, 4)
    return Target("workers-2-vs-1", two / one, 1.8, at_most=False,
                  figures=f"1 worker {one:.0f} steps/s ({e1} errors), 2 workers {two:.0f} steps/s ({e2} errors), "
                          f"4 client threads, {n} steps each, PostgreSQL")


def main() -> list[Target]:
    args = arguments(__doc__)
    targets = []
    with tempfile.TemporaryDirectory() as tmp:
        targets.append(_http_vs_persisted(f"sqlite:///{Path(tmp) / 'http.db'}", args.quick))
    if args.postgres:
        reset_postgres(args.postgres)
        targets.append(_http_vs_persisted(args.postgres, args.quick))
        targets.append(_workers(args.postgres, args.quick))
    else:
        print("workers-2-vs-1: skipped (give --postgres URL)")
    return report(targets)


if __name__ == "__main__":
    main()
