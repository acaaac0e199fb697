"""Problems found in a definition, reported the way a compiler reports them.

``PATH:LINE:COL: error: MESSAGE`` is understood by editors and CI annotators alike, so an admin can
jump from the message to the mistake. Every check collects problems instead of stopping at the first.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable

MAX_PROBLEMS = 100  # problems reported per file; the rest are counted on one last line
STOPPED = "… and more problems: the check stopped early"  # a check that gave up says so last (line 0)


@dataclass(frozen=True)
class Problem:
    path: str
    line: int  # 0 (with column 0) for a line about the whole file, such as the count of the rest
    column: int
    message: str
    severity: str = "error"  # or "warning"

    def format(self) -> str:
        if self.line == 0:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}:{self.column}: {self.severity}: {self.message}"


def capped(problems: list[Problem], path: str, limit: int = MAX_PROBLEMS, unlisted: int = 0) -> list[Problem]:
    """The first ``limit`` problems, then one ``PATH: … and N more problems`` line for the rest
    (``unlisted`` counts errors found after ``problems`` but never made into Problems).

    A file with sixty thousand mistakes (a generated or pasted one) must not bury the first ones,
    nor flood a terminal or the app's log."""
    stopped = bool(problems) and problems[-1].message == STOPPED and problems[-1].line == 0
    listed = problems[:-1] if stopped else problems
    if len(listed) + unlisted <= limit:
        return problems
    rest = listed[limit:]
    severity = "error" if stopped or unlisted or any(p.severity == "error" for p in rest) else "warning"
    more = len(rest) + unlisted
    line = f"… and at least {more + 1} more problems (the check stopped early)" if stopped else \
        f"… and {more} more problems"
    return [*listed[:limit], Problem(path, 0, 0, line, severity)]


def json_path(path: Iterable[str | int]) -> str:
    """('activities', 3, 'performers', 0) -> 'activities[3].performers[0]'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(document)"


def suggest(name: str, candidates: Iterable[str]) -> str:
    """A ' (did you mean ...?)' hint for a near name, or ''."""
    close = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
