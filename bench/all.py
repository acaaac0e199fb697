"""Every benchmark target in one run: `make bench` (full sizes) or `make bench-quick` (CI: small
sizes, so the scripts never rot; the figures of a quick run mean nothing).

Runs each target script in its own process and ends with the summary of every ``target`` line.
Exits non-zero only when a script fails to run, never because a target was missed: the figures are
read by people (docs/benchmarks.md), machines are too noisy for a gate.

    .venv/bin/python bench/all.py [--quick] [--postgres URL]     (or BENCH_POSTGRES=URL)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ("engine.py", "persist.py", "http_step.py", "pages.py", "cold.py", "seed.py", "memory.py")


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    postgres = os.environ.get("BENCH_POSTGRES")
    if "--postgres" in argv:
        postgres = argv[argv.index("--postgres") + 1]
    lines: list[str] = []
    failed = []
    for script in SCRIPTS:
        cmd = [sys.executable, str(HERE / script)] + (["--quick"] if quick else []) + \
            (["--postgres", postgres] if postgres else [])
        print(f"$ {' '.join(cmd[1:])}", flush=True)
        t0 = time.perf_counter()
        run = subprocess.run(cmd, capture_output=True, text=True)
        out = [line for line in run.stdout.splitlines() if " INFO " not in line]
        print("\n".join(out), flush=True)
        print(f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
        if run.returncode != 0:
            failed.append(script)
            print(run.stderr[-3000:], file=sys.stderr)
        lines += [line for line in out if line.startswith("target ")]
    print("\nsummary" + (" (quick: sizes too small for the figures to mean anything)" if quick else ""))
    for line in lines:
        print(line)
    if failed:
        print(f"scripts that failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
