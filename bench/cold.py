"""Target 5: cold starts. Each figure is a whole new Python process, timed from outside.

* ``cold-validate``: ``sop validate`` of the LAPOR file vs ``python -c "import yaml, jsonschema,
  transitions"`` (the libraries validation cannot do without). Limit ≤ 1.5×.
* ``cold-create-app``: ``web.create_app()`` on a migrated SQLite database with every SOP published
  vs a process importing the third-party packages that create_app ends up importing (read from
  ``sys.modules`` of a real start, so the baseline is exactly "the frameworks it uses"). Limit ≤ 1.5×.

Runs alternate (ours, baseline, ours, …) so load on the machine hits both alike.

    .venv/bin/python bench/cold.py [--quick]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import LAPOR, ROOT, Target, arguments, report

PY = sys.executable


def _time(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=tempfile.gettempdir(), stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _pair(ours: list[str], base: list[str], env: dict[str, str], runs: int) -> tuple[float, float, float]:
    _time(ours, env), _time(base, env)  # warm the OS file cache for both
    a, b, ratios = [], [], []
    for _ in range(runs):
        a.append(_time(ours, env))
        b.append(_time(base, env))
        ratios.append(a[-1] / b[-1])
    return statistics.median(a), statistics.median(b), statistics.median(ratios)


_THIRD_PARTY = """
import importlib.util, json, sys
from web import create_app
create_app()

def importable(name):
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.origin not in (None, 'built-in')

std = set(sys.stdlib_module_names)
tops = sorted({m.split('.')[0] for m in sys.modules} - std - {'runner', 'web', '__main__'})
print(json.dumps([t for t in tops if not t.startswith('_') and importable(t)]))
"""


def main() -> list[Target]:
    args = arguments(__doc__)
    runs = 3 if args.quick else 15
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    targets = []
    ours, base, ratio = _pair([PY, "-m", "runner.cli", "validate", str(LAPOR)],
                              [PY, "-c", "import yaml, jsonschema, transitions"], env, runs)
    targets.append(Target("cold-validate", ratio, 1.5,
                          figures=f"sop validate {ours * 1e3:.0f} ms, bare imports {base * 1e3:.0f} ms (median of {runs})"))
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "cold.db"
        app_env = {**env, "SOP_DATABASE_URL": f"sqlite:///{db}", "SECRET_KEY": "bench-only-secret-key-0123456789",
                   "SOP_DEFINITIONS": str(ROOT / "sop_definitions")}
        subprocess.run([PY, "-m", "runner.cli", "db", "upgrade"], check=True, env=app_env, stdout=subprocess.DEVNULL)
        subprocess.run([PY, "-m", "runner.cli", "load"], check=True, env=app_env, stdout=subprocess.DEVNULL)
        found = subprocess.run([PY, "-c", _THIRD_PARTY], check=True, env=app_env, capture_output=True, text=True)
        packages = json.loads(found.stdout.strip().splitlines()[-1])
        ours, base, ratio = _pair([PY, "-c", "from web import create_app; create_app()"],
                                  [PY, "-c", "import " + ", ".join(packages)], app_env, runs)
        targets.append(Target("cold-create-app", ratio, 1.5,
                              figures=f"create_app() {ours * 1e3:.0f} ms, importing {len(packages)} packages "
                                      f"{base * 1e3:.0f} ms (median of {runs})\n" f"packages: {' '.join(packages)}"))
    return report(targets)


if __name__ == "__main__":
    main()
