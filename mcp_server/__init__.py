"""MAOO over the Model Context Protocol: a front end beside the command line.

``server.py`` builds the MCP server over the run service, ``answers.py`` shapes what its tools
answer, ``serve.py`` serves it on stdio or on streamable HTTP on loopback. ``python -m cli mcp``
is the command that starts it; this package never imports ``cli`` and ``chalicelib`` never imports it.
"""
