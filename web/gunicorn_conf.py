"""Gunicorn settings for SOP Runner: ``gunicorn -c python:web.gunicorn_conf 'web:create_app()'``.

Loaded as a module of the installed package, so it works from any directory (``make serve`` and the
README's deployment command use it). Command-line options (``--workers``, ``--bind``) still apply.

The ``Server`` header. Gunicorn writes ``Server: gunicorn`` itself, before any header of the
application, and has no setting to change or drop it: the maintainers declined one
(benoitc/gunicorn#825, #1384, #1617) and recommend a reverse proxy in front, which replaces the header
with its own (nginx: ``server_tokens off;`` leaves ``Server: nginx``; ``proxy_hide_header`` does not
touch it). Without such a proxy, this file neutralises the header: gunicorn takes the value from the
module global ``gunicorn.http.wsgi.SERVER`` each time it builds a response, and that global is set
here, in the arbiter, before any worker is forked. That global is not a public API; ``tests/
test_security.py`` starts gunicorn with this file and fails if a future release stops honouring it.
"""

from __future__ import annotations

import importlib

SERVER_HEADER = "sop"  # names no software and no version

setattr(importlib.import_module("gunicorn.http.wsgi"), "SERVER", SERVER_HEADER)

# Slow clients. A sync worker serves one connection at a time, so one client that sends its request
# slowly (a bad mobile link, or on purpose) would hold a whole worker. Threaded workers keep serving
# others while such a request trickles in; behind a buffering reverse proxy (nginx) this matters less.
# tests/test_stress.py::test_a_slow_client_does_not_hold_up_others checks it.
worker_class = "gthread"
threads = 8
