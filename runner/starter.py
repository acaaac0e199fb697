"""`sop new`: a commented starting definition for a new SOP.

The text is the template ``runner/templates/new_sop.yaml`` (shipped as package data) with the new
id written in. It passes ``sop validate`` as it is, so an admin starts from a sound file and changes
it step by step, validating as they go.
"""

from __future__ import annotations

import re
from importlib.resources import files

from .errors import InvalidInput

ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")  # the language's snake_case identifiers
_PLACEHOLDER = "__SOP_ID__"

__all__ = ["ID_RE", "new_definition", "template_text"]


def template_text() -> str:
    return files("runner").joinpath("templates", "new_sop.yaml").read_text(encoding="utf-8")


def new_definition(sop_id: str) -> str:
    """The starting definition for ``sop_id``; InvalidInput when the id is not snake_case."""
    if not ID_RE.fullmatch(sop_id):
        raise InvalidInput(f"'{sop_id}' is not a valid SOP id: use snake_case (lowercase letters, digits and "
                           "underscores, starting with a letter), e.g. izin_keramaian")
    return template_text().replace(_PLACEHOLDER, sop_id)
