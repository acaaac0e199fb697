"""Problems found in a definition, reported the way a compiler reports them.

``PATH:LINE:COL: error: MESSAGE`` is understood by editors and CI annotators alike, so an admin can
jump from the message to the mistake. Every check collects problems instead of stopping at the first.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    column: int
    message: str
    severity: str = "error"  # or "warning"

    def format(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.severity}: {self.message}"


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
