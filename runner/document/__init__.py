"""The official Permenpan-RB 35/2012 "SOP AP" document of a definition, laid out by our own code.

``layout`` computes the flowchart tables as geometry, ``svg`` draws them, ``html`` puts the identity
page in front, ``pdf`` prints that HTML with WeasyPrint (imported lazily: see ``pdf``). This is not
``runner.diagram`` (a state diagram by ``transitions``' GraphMachine): it is the table officials sign.
"""

from .html import document_body, document_html, identity_html, stylesheet
from .layout import Chart, Highlight, Orientation, Page, charts
from .svg import document_svg, flowchart_svgs

FORMATS = (".svg", ".html", ".pdf")

__all__ = ["FORMATS", "Chart", "Highlight", "Orientation", "Page", "charts", "document_body", "document_html",
           "document_svg", "flowchart_svgs", "identity_html", "stylesheet"]
