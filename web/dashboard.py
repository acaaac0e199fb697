"""The leaders' dashboard (``/dasbor/<sop_id>``): charts, their data tables and a CSV per table.

A thin shell over ``runner.services.dashboard`` (the figures and who may see them) and
``runner.charts`` (the SVG, inline in the page: the CSP allows no script or inline style, and the
chart needs neither). An SOP without a dashboard is a 404; a signed-in person without one of its
dashboard roles gets the 403 page. A date that cannot be read is said so on the page (400), which
then shows the figures without that filter.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from runner.charts import Series, bar_chart
from runner.definition import display
from runner.errors import InvalidInput
from runner.services import dashboard as figures

from . import db

bp = Blueprint("dashboard", __name__)


def BAD_DATES() -> str:  # noqa: N802 - a message, translated when the request's language is known
    return _("The dates could not be read. Write each as YYYY-MM-DD (e.g. 2026-11-30), the first "
             "before the last.")


@bp.before_request
@login_required
def _require_login() -> None:
    return None


@bp.app_context_processor
def _links() -> dict[str, Any]:
    """``dashboard_links()`` for the inbox: the SOPs whose dashboard the signed-in person may open
    (computed only where a template calls it)."""
    def links() -> list[Any]:
        if not current_user.is_authenticated:
            return []
        return figures.dashboard_sops(db.session(), db.registry(), current_user.actor)

    return {"dashboard_links": links}


def chart_svg(panel: figures.Panel, locale: str) -> Markup:
    """The panel's table drawn as inline SVG (every text escaped by ``runner.charts``)."""
    table = panel.table
    labels = [display(label, locale) for label, _ in table.rows]

    def number(v: Any) -> float | None:
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    def column(k: int) -> Series:
        return Series(display(table.header[k + 1], locale), tuple(number(values[k]) for _, values in table.rows))

    series = [column(k) for k in panel.chart.series]
    marker = column(panel.chart.marker) if panel.chart.marker is not None else None
    return Markup(bar_chart(f"chart-{table.key}", display(table.caption, locale), labels, series,
                            stacked=panel.chart.stacked, marker=marker))


def _query() -> dict[str, str]:
    return {k: v for k in ("dari", "sampai") if (v := request.args.get(k, "").strip())}


@bp.route("/dasbor/<sop_id>")
def page(sop_id: str) -> tuple[str, int]:
    actor = current_user.actor
    args = _query()
    error, status = None, 200
    try:
        board = figures.dashboard(db.session(), db.registry(), sop_id, actor,
                                  first=args.get("dari"), last=args.get("sampai"))
    except InvalidInput:
        error, status = BAD_DATES(), 400
        board = figures.dashboard(db.session(), db.registry(), sop_id, actor)
    locale = str(get_locale())
    charts = {p.table.key: chart_svg(p, locale) for p in board.panels}
    return render_template("staff/dashboard.html", board=board, charts=charts, error=error, args=args,
                           typed={k: request.args.get(k, "")[:20] for k in ("dari", "sampai")}), status


@bp.route("/dasbor/<sop_id>/<key>.csv")
def csv(sop_id: str, key: str) -> Response:
    """One table as CSV, with the page's date filter: the same rows as the data table."""
    args = _query()
    try:
        board = figures.dashboard(db.session(), db.registry(), sop_id, current_user.actor,
                                  first=args.get("dari"), last=args.get("sampai"), only=key)
    except InvalidInput:
        body = render_template("error.html", title=_("The dates could not be read"), message=BAD_DATES(), status=400)
        return Response(body, status=400, mimetype="text/html")
    panel = board.panel(key)
    response = Response(figures.table_csv(panel.table, str(get_locale())), mimetype="text/csv; charset=utf-8")
    span = "-".join(x for x in (board.range.first_day, board.range.last_day) if x)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="dasbor-{board.sop.id}-{panel.table.key}{"-" + span if span else ""}.csv"')
    return response
