"""*Anonim* and *rahasia*: what a reporter may ask for, kept with the case.

* **anonim** (anonymous): the intake fields the definition marks ``identifies`` are shown only to
  roles marked ``sees_identity`` (LAPOR's Admin Utama); everyone else sees them masked, on every page
  and in every list and history entry.
* **rahasia** (confidential): no public page shows anything of the report beyond its status.

The reporter chooses on the public form; the performer of an activity marked ``sets_privacy`` may set
or lift either, and the history records the change. The two flags live in the case's data under
reserved keys (field ids cannot start with an underscore), read and written only through this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

ANONYMOUS_KEY = "_anonim"
CONFIDENTIAL_KEY = "_rahasia"
RESERVED = frozenset({ANONYMOUS_KEY, CONFIDENTIAL_KEY})
MASK = "•••"  # what others see instead of an anonymous reporter's identity
_TRUE = {"on", "1", "true", "yes", "ya"}


@dataclass(frozen=True)
class Privacy:
    anonymous: bool = False
    confidential: bool = False

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "Privacy":
        """The flags stored in a case's (or a history entry's) data."""
        return cls(bool(data.get(ANONYMOUS_KEY, False)), bool(data.get(CONFIDENTIAL_KEY, False)))

    @classmethod
    def from_form(cls, raw: Mapping[str, Any]) -> "Privacy":
        """The two checkboxes of a form (absent means unchecked, as browsers send them)."""

        def checked(key: str) -> bool:
            value = raw.get(key)
            if isinstance(value, (list, tuple)):
                value = value[-1] if value else None
            return value is True or (isinstance(value, str) and value.strip().lower() in _TRUE)

        return cls(checked(ANONYMOUS_KEY), checked(CONFIDENTIAL_KEY))

    def stamped(self) -> dict[str, bool]:
        """The reserved entries to store (only the flags that are set)."""
        out = {}
        if self.anonymous:
            out[ANONYMOUS_KEY] = True
        if self.confidential:
            out[CONFIDENTIAL_KEY] = True
        return out


def without_flags(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in RESERVED}


def with_flags(data: Mapping[str, Any], privacy: Privacy) -> dict[str, Any]:
    return {**without_flags(data), **privacy.stamped()}
