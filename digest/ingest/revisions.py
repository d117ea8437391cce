"""What a new version of a stored paper changed, and whether a reader who got it should hear.

Title and abstract are compared as their words (:func:`_words`), only when a higher version
arrives: a v2 that only re-wraps its abstract or replaces the PDF is no news, a withdrawal is.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from digest.models import FeedItem

if TYPE_CHECKING:
    from digest.ingest.decide import Known


def _words(text: str) -> str:
    """A title or abstract as compared across versions: case, spacing and punctuation aside
    (a v2 that only re-wraps its abstract is no news)."""
    return _NOT_WORD.sub(" ", text.casefold()).strip()


_NOT_WORD = re.compile(r"[\W_]+")
_WITHDRAWN = ("this paper has been withdrawn", "this article has been withdrawn", "withdrawn by")


def revision_of(known: Known, item: FeedItem) -> str | None:
    """What a higher version changed that a reader should hear of, or None (PDF-only changes:
    the abstract and title stay the same)."""
    if any(phrase in item.abstract[:400].casefold() for phrase in _WITHDRAWN):
        return "withdrawn"
    title = _words(known.title) != _words(item.title)
    abstract = bool(item.abstract) and _words(known.abstract) != _words(item.abstract)
    if title and abstract:
        return "new title and abstract"
    return "new title" if title else "abstract revised" if abstract else None
