"""The package as a user gets it: a wheel, installed in a fresh virtualenv, run from another directory.

Builds the wheel from a clean copy of the checkout (``pip wheel --no-deps``), installs it with its
declared dependencies into a new virtualenv under a temporary directory, and then, with the temporary
directory as the working directory and the checkout nowhere on ``sys.path``, runs ``sop validate``,
``sop db upgrade``, ``sop load`` and gunicorn serving ``web:create_app()``. A file left out of the
wheel (the JSON schema, a migration, a template) or an import of an undeclared dependency fails here,
never in the editable checkout the rest of the suite runs in.

Needs pip to reach a package index (or find setuptools>=77 and the dependencies in its cache or
configured local indexes); otherwise it skips, and under ``SOP_TEST_REQUIRE_ALL=1`` (CI) that skip
is a failure (see conftest.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from conftest import DEFINITIONS, LAPOR, REPO

pytestmark = pytest.mark.package

# Not part of a clean clone: never copied into the build tree.
_NOT_SOURCE = {".git", ".venv", "build", "dist", "instance", "__pycache__", ".pytest_cache", ".hypothesis",
               "test-results", "results", "node_modules"}


def _ignore(_dir: str, names: list[str]) -> set[str]:
    return {n for n in names if n in _NOT_SOURCE or n.endswith((".egg-info", ".pyc"))}


def _clean_env(venv: Path) -> dict[str, str]:
    """The environment of a user who installed the wheel: no PYTHONPATH, no SOP_* settings from the
    test run, the checkout's virtualenv off PATH and the fresh one first. pip's own configuration
    (PIP_*, pip.conf) is kept: it says where packages come from on this machine."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SOP_") and k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP",
                                                     "PYTHONUSERBASE"}}
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and not _inside(Path(p), REPO)]
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *path])
    env["VIRTUAL_ENV"] = str(venv)
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except (OSError, ValueError):
        return False


class Steps:
    """Runs commands, times them, and fails with everything needed to see why."""

    def __init__(self, cwd: Path):
        self.cwd = cwd
        self.timings: list[tuple[str, float]] = []

    def run(self, name: str, cmd: list[str], *, env: dict[str, str] | None = None, expect: int | None = 0,
            timeout: float = 600) -> subprocess.CompletedProcess:
        start = time.monotonic()
        try:
            proc = subprocess.run(cmd, cwd=self.cwd, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"{name}: timed out after {timeout:.0f} s\n$ {' '.join(cmd)}\n"
                                 f"--- stdout ---\n{exc.stdout}\n--- stderr ---\n{exc.stderr}") from None
        self.timings.append((name, time.monotonic() - start))
        if expect is not None and proc.returncode != expect:
            raise AssertionError(self.describe(name, proc, f"exit status {proc.returncode}, expected {expect}"))
        return proc

    def describe(self, name: str, proc: subprocess.CompletedProcess, problem: str) -> str:
        return (f"{name}: {problem}\n$ (cd {self.cwd} && {' '.join(map(str, proc.args))})\n"
                f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}")

    def report(self) -> str:
        return "; ".join(f"{name} {seconds:.1f} s" for name, seconds in self.timings)


def _without_the_package_named_deprecated(line: str) -> str:
    """pip's lines name Flask-Limiter's dependency ``limits`` -> ``deprecated`` (a package): that name,
    as pip writes it (a list entry, a file name, an index path, a requirement), is no deprecation
    warning."""
    if line.lstrip().startswith("Installing collected packages:"):
        return re.sub(r"(?i)(?<=[:,] )deprecated(?=,|\s*$)", "", line)
    return re.sub(r"(?i)(?<![\w.-])deprecated(?=-\d|/|\s*[<>=!~]=?\s*\d)", "", line)


def _no_deprecation(steps: Steps, name: str, proc: subprocess.CompletedProcess) -> None:
    lines = [line for line in (proc.stdout + proc.stderr).splitlines()
             if re.search("deprecat", _without_the_package_named_deprecated(line), re.I)]
    assert not lines, steps.describe(name, proc, "deprecation warning(s) in the output:\n" + "\n".join(lines))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _wheel_must_hold(wheel: Path) -> None:
    """What runs from a wheel must be in it: the schema as a real file, every migration and the
    Alembic template, the web package's templates, static files and compiled catalogs."""
    with zipfile.ZipFile(wheel) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        schema = infos.get("runner/schemas/sop.schema.json")
        assert schema is not None, f"{wheel.name} has no runner/schemas/sop.schema.json: {sorted(infos)}"
        assert (schema.external_attr >> 16) & 0o170000 != 0o120000, "the schema is a symlink in the wheel"
        assert zf.read(schema) == (REPO / "runner/schemas/sop.schema.json").read_bytes()
    wanted = [p for p in (REPO / "runner/store/migrations").rglob("*")
              if p.is_file() and p.suffix in (".py", ".mako") and "__pycache__" not in p.parts]
    for sub in ("templates", "static", "translations"):
        wanted += [p for p in (REPO / "web" / sub).rglob("*") if p.is_file() and p.suffix != ".pyc"]
    wanted += sorted((REPO / "runner" / "data").glob("*.txt"))  # the common-password list
    missing = sorted(str(p.relative_to(REPO)) for p in wanted if str(p.relative_to(REPO)) not in infos)
    assert not missing, f"{wheel.name} lacks files the installed package needs: {missing}"
    assert "runner/store/migrations/script.py.mako" in infos


def test_wheel_installs_and_runs_outside_the_checkout(tmp_path):
    assert not _inside(tmp_path, REPO), f"the temporary directory {tmp_path} is inside the checkout"
    work = tmp_path / "work"  # the user's directory: every installed command runs from here
    work.mkdir()
    steps = Steps(work)
    pip = [sys.executable, "-m", "pip"]

    probe = steps.run("probe", [*pip, "download", "--no-deps", "--retries", "1", "--timeout", "20",
                                "--dest", str(tmp_path / "probe"), "setuptools>=77"], expect=None)
    if probe.returncode != 0:
        pytest.skip("cannot build a wheel: pip finds setuptools>=77 neither on a package index (no network?) "
                    f"nor in its cache or local indexes:\n{probe.stderr.strip()[-2000:]}")

    # -- build: from a clean copy, so stale build/ or egg-info in the checkout cannot leak in -----------
    src = tmp_path / "src"
    shutil.copytree(REPO, src, symlinks=True, ignore=_ignore)
    link = src / "schemas" / "sop.schema.json"
    assert link.is_symlink() and link.resolve() == (src / "runner/schemas/sop.schema.json").resolve(), \
        "schemas/sop.schema.json must be a relative symlink to runner/schemas/sop.schema.json"
    dist = tmp_path / "dist"
    built = steps.run("build wheel", [*pip, "wheel", "--no-deps", "--wheel-dir", str(dist), str(src)])
    _no_deprecation(steps, "build wheel", built)
    wheels = list(dist.glob("sop_runner-*.whl"))
    assert len(wheels) == 1, steps.describe("build wheel", built, f"expected one wheel, found {wheels}")
    _wheel_must_hold(wheels[0])

    # -- install: a fresh virtualenv, the wheel and its declared dependencies, nothing else ------------
    venv = tmp_path / "venv"
    env = _clean_env(venv)
    steps.run("create venv", [sys.executable, "-m", "venv", str(venv)], env=env)
    python, bin_ = str(venv / "bin" / "python"), venv / "bin"
    installed = steps.run("install wheel", [python, "-m", "pip", "install", str(wheels[0])], env=env)
    _no_deprecation(steps, "install wheel", installed)

    where = steps.run("import check", [python, "-c", "import json, sys, runner, web; "
                                       "print(json.dumps([runner.__file__, web.__file__, sys.path]))"], env=env)
    runner_file, web_file, sys_path = json.loads(where.stdout)
    for module_file in (runner_file, web_file):
        assert _inside(Path(module_file), venv), f"imported {module_file}, not the installed copy under {venv}"
    leaks = [p for p in sys_path if p and _inside(Path(p), REPO)]
    assert not leaks, f"the checkout is on the installed interpreter's sys.path: {leaks}"
    installed_schema = Path(runner_file).parent / "schemas" / "sop.schema.json"
    assert installed_schema.is_file() and not installed_schema.is_symlink(), installed_schema

    # -- sop validate: the packaged JSON schema is found --------------------------------------------
    good = work / "laporisp4n.yaml"
    shutil.copyfile(LAPOR, good)
    ok = steps.run("sop validate (good)", [str(bin_ / "sop"), "validate", good.name], env=env)
    assert ok.stdout.strip() == f"{good.name}: OK", steps.describe("sop validate (good)", ok, "expected 'PATH: OK'")

    text = LAPOR.read_text(encoding="utf-8")
    assert re.search(r"(?m)^title:", text), "the LAPOR definition no longer has a top-level 'title:'"
    line = text[:re.search(r"(?m)^title:", text).start()].count("\n") + 1
    broken = work / "broken.yaml"
    broken.write_text(re.sub(r"(?m)^title:", "titel:", text, count=1), encoding="utf-8")
    bad = steps.run("sop validate (broken)", [str(bin_ / "sop"), "validate", broken.name], env=env, expect=1)
    assert re.search(rf"(?m)^{re.escape(broken.name)}:{line}:1: error: .*unknown field 'titel'", bad.stdout), \
        steps.describe("sop validate (broken)", bad, f"expected '{broken.name}:{line}:1: error: ... unknown field'")
    assert f"{broken.name}: OK" not in bad.stdout

    # -- sop new: the starter template is shipped, and what it writes validates --------------------
    steps.run("sop new", [str(bin_ / "sop"), "new", "contoh_baru", "-o", "baru.yaml"], env=env)
    fresh = steps.run("sop validate (new)", [str(bin_ / "sop"), "validate", "baru.yaml"], env=env)
    assert fresh.stdout.strip().endswith("baru.yaml: OK"), steps.describe("sop validate (new)", fresh, "expected OK")

    # -- sop document: the layout, its stylesheet (package data) and WeasyPrint, from the wheel ----
    steps.run("sop document (pdf)", [str(bin_ / "sop"), "document", str(LAPOR), "-o", "lapor.pdf"], env=env)
    assert (work / "lapor.pdf").read_bytes()[:5] == b"%PDF-", "sop document did not write a PDF"
    steps.run("sop document (html)", [str(bin_ / "sop"), "document", str(LAPOR), "-o", "lapor.html"], env=env)
    page = (work / "lapor.html").read_text(encoding="utf-8")
    assert "065/144/0K15/KAP - 2018" in page and "@page" in page, "the HTML document lacks its identity or print CSS"

    # -- sop db upgrade / sop load: migrations shipped and found through the package ---------------
    db_file = work / "x.db"
    url = f"sqlite:///{db_file}"
    steps.run("sop db upgrade", [str(bin_ / "sop"), "db", "upgrade", "--database", url], env=env)
    with sqlite3.connect(db_file) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    assert {"cases", "alembic_version"} <= tables, f"tables after `sop db upgrade`: {sorted(tables)}"

    from alembic.script import ScriptDirectory

    from runner.store.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision == [(head,)], f"installed package migrated to {revision}, the checkout's head is {head}"

    definitions = work / "sop_definitions"
    shutil.copytree(DEFINITIONS, definitions)
    steps.run("sop load", [str(bin_ / "sop"), "load", "--database", url, "--definitions", definitions.name], env=env)
    # the common-password list is package data, read through importlib.resources
    weak = steps.run("sop user add (common password)", [str(bin_ / "sop"), "user", "add", "budi", "--role", "kadis",
                     "--database", url, "--definitions", definitions.name],
                     env={**env, "SOP_NEW_PASSWORD": "password123"}, expect=1)
    assert "most common passwords" in weak.stderr, steps.describe("sop user add (common password)", weak, "not refused")

    # -- gunicorn: the app starts from the installed package and serves the home page ---------------
    port = _free_port()
    log_path = tmp_path / "gunicorn.log"
    app_env = {**env, "SOP_DATABASE_URL": url, "SOP_DEFINITIONS": str(definitions), "SECRET_KEY": "package-test",
               "SOP_INSTANCE_PATH": str(work / "instance")}
    start = time.monotonic()
    with open(log_path, "wb") as log:
        server = subprocess.Popen([str(bin_ / "gunicorn"), "-c", "python:web.gunicorn_conf", "--workers", "1",
                                   "--bind", f"127.0.0.1:{port}", "web:create_app()"], cwd=work, env=app_env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                raise AssertionError(f"gunicorn exited with {server.returncode}:\n{log_path.read_text()}")
            try:
                status, body = _get(f"http://127.0.0.1:{port}/")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"gunicorn did not answer within 30 s:\n{log_path.read_text()}") from None
                time.sleep(0.2)
        steps.timings.append(("gunicorn up + GET /", time.monotonic() - start))
        assert status == 200, f"GET / answered {status}:\n{body[:2000]}\n--- gunicorn ---\n{log_path.read_text()}"
        assert 'data-testid="submit-laporisp4n"' in body, f"the LAPOR SOP is not offered on /:\n{body[:2000]}"
        assert "Pilih layanan" in body, "the Indonesian catalog (messages.mo) was not used"
        css_status, _ = _get(f"http://127.0.0.1:{port}/static/style.css")
        assert css_status == 200, f"GET /static/style.css answered {css_status}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=5)
    print(f"package test timings: {steps.report()}")
