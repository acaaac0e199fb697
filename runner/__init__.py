"""SOP Runner: turns a Standard Operating Procedure written in YAML into a working application.

Layers (dependencies point down only):

    services  ->  engine  ->  definition
        \\->  store

``definition`` and ``engine`` do no I/O beyond reading the text they are handed.
"""

__version__ = "0.1.0"
