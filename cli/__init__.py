"""``python -m cli``: MAOO's command line (Typer + Rich)."""
