"""The SOP definition: YAML in, frozen and validated :class:`Sop` out."""

from .loader import check_text, duplicate_id, load_file, load_text, read_source, version_of
from .model import (
    Action, Activity, End, Field, Flow, Identity, Migration, Official, Option, Role, Sop, Text, TimeLimit,
    display, joined,
)
from .problems import Problem

__all__ = [
    "Action", "Activity", "End", "Field", "Flow", "Identity", "Official", "Option", "Problem", "Role", "Sop",
    "Text", "TimeLimit", "check_text", "duplicate_id", "load_file", "load_text", "read_source", "version_of",
    "display", "joined", "Migration",
]
