"""Where the data folders are, in a checkout and in an installed wheel.

The repository keeps ``templates/`` and ``migrations/`` at the top level; the wheel ships them
inside the package (``digest/templates`` ...) through pyproject's ``package-dir``. Each helper
returns the packaged folder when it exists, else the one beside the package in a checkout.
"""

from __future__ import annotations

from pathlib import Path

import digest


def _locate(name: str) -> Path:
    package = Path(digest.__file__).resolve().parent
    inside = package / name
    return inside if inside.is_dir() else package.parent / name


def templates_dir() -> Path:
    """The templates folder (``email/`` and ``web/`` below it)."""
    return _locate("templates")


def migrations_dir() -> Path:
    """The Alembic folder (``env.py``, ``versions/``)."""
    return _locate("migrations")


def samples_dir() -> Path:
    """The sample feed documents used by ``digest demo`` and the tests."""
    return _locate("samples")
