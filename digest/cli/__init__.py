"""The `digest` command line: typer commands, one module per command group; thin."""

from digest.cli.app import app, main

__all__ = ["app", "main"]
