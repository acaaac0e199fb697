"""The official SOP document as PDF: the HTML document printed by WeasyPrint.

WeasyPrint (and Pango under it) is imported only here and only when a PDF is asked for, so starting
the app or running any other ``sop`` command does not load it.
"""

from __future__ import annotations

import logging
from typing import Any

from ..definition.model import Sop
from ..errors import ConfigurationError
from .html import document_html
from .layout import Orientation


class _NoSubsetterNotice(logging.Filter):
    """WeasyPrint warns on every PDF when HarfBuzz-Subset is missing (Debian 12's is too old) and
    falls back to fontTools, which works: a notice the person running ``sop document`` can do nothing with."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "HarfBuzz-Subset" not in record.getMessage()


def _weasyprint() -> Any:
    log = logging.getLogger("weasyprint")
    if not any(isinstance(f, _NoSubsetterNotice) for f in log.filters):
        log.addFilter(_NoSubsetterNotice())
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: the package is there but Pango is not
        raise ConfigurationError(f"a PDF needs WeasyPrint and Pango ({exc})",
                                 hint="pip install weasyprint; apt-get install libpango-1.0-0 libpangoft2-1.0-0") from exc
    return weasyprint


def render(sop: Sop, *, flow_id: str | None = None, locale: str | None = None,
           orientation: Orientation = "portrait") -> Any:
    """The laid-out WeasyPrint document (``.pages`` with sizes in CSS pixels; ``.write_pdf()``)."""
    html = document_html(sop, flow_id=flow_id, locale=locale, orientation=orientation)
    return _weasyprint().HTML(string=html).render()


def document_pdf(sop: Sop, *, flow_id: str | None = None, locale: str | None = None,
                 orientation: Orientation = "portrait") -> bytes:
    """The document as PDF bytes: the identity page first, then the tables, A4 in ``orientation``."""
    data: bytes = render(sop, flow_id=flow_id, locale=locale, orientation=orientation).write_pdf()
    return data
