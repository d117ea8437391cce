"""The web site: subscribe, confirm, manage, unsubscribe, feedback, archive, health.

:func:`create_app` builds the Starlette app from a :class:`~digest.service.Service`; the pages
call the same store and pipeline functions as the CLI.
"""

from digest.web.app import create_app

__all__ = ["create_app"]
