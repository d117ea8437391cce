"""LaTeX in titles and abstracts as a reader sees it: ``$\\ln\\ln T$`` → "ln ln T".

arXiv titles and abstracts carry the authors' LaTeX; stored text keeps it (so it can be
rendered again), and every view calls :func:`readable` when it shows a paper. The conversion
is pylatexenc's, applied only to text that looks like LaTeX: a ``\\command`` or a ``$...$``
span with math in it. Plain text ("costs $5 to $10", "50% of cases", "~3x") comes back as it
was; characters LaTeX would eat there (``%`` starts a comment, ``~`` is a space, ``&`` an
alignment) are shielded first, and any input pylatexenc cannot parse is returned unchanged.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

# A command (\textit, \ln, \alpha) or an escaped special (\%, \&, \_).
_COMMAND = re.compile(r"\\(?:[A-Za-z]+|[%&_#${}])")
# A $...$ or $$...$$ span that is not an escaped dollar.
_MATH = re.compile(r"(?<!\\)(\$\$?)(?!\s)([^$]{1,400}?)(?<![\s\\])\1")
_MATH_MARK = re.compile(r"[\\^_{}]")
_SHIELDED = {"%": "\ue000", "~": "\ue001", "&": "\ue002", "#": "\ue003", "$": "\ue004"}
_RESTORE = str.maketrans({v: k for k, v in _SHIELDED.items()})
_SPACES = re.compile(r"[ \t\xa0]{2,}")
# Math operators pylatexenc writes without a trailing space ("\ln\ln T" would read "lnln T").
_OPERATORS = [
    "ln",
    "log",
    "lg",
    "exp",
    "sin",
    "cos",
    "tan",
    "cot",
    "sec",
    "csc",
    "sinh",
    "cosh",
    "tanh",
    "arcsin",
    "arccos",
    "arctan",
    "max",
    "min",
    "sup",
    "inf",
    "lim",
    "liminf",
    "limsup",
    "det",
    "dim",
    "ker",
    "deg",
    "gcd",
    "arg",
    "Pr",
    "hom",
]
# Styles whose words must survive as words, not as Unicode look-alikes or nothing at all.
_PLAIN_STYLES = [
    "texttt",
    "textsf",
    "textup",
    "textmd",
    "textsl",
    "mbox",
    "mathbf",
    "mathit",
    "mathsf",
    "mathtt",
]


def looks_like_latex(text: str) -> bool:
    """True when ``text`` has a LaTeX command or a ``$...$`` span that holds math."""
    if _COMMAND.search(text):
        return True
    return any(_is_math(m.group(2)) for m in _MATH.finditer(text))


def _is_math(content: str) -> bool:
    """Math, not money: a command, ^, _ or braces, or letters not led by a digit ($n$, $O(n)$)."""
    if _MATH_MARK.search(content):
        return True
    return not content[0].isdigit() and any(ch.isalpha() for ch in content) and len(content) < 40


def readable(text: str) -> str:
    """``text`` with its LaTeX turned into Unicode; text that is not LaTeX is left alone."""
    if "\\" not in text and "$" not in text:
        return text
    return _converted(text)


@lru_cache(maxsize=16384)
def _converted(text: str) -> str:
    if not looks_like_latex(text):
        return text
    try:
        converted = _converter().latex_to_text(_shield(text))
    except Exception:  # pylatexenc raises assorted errors on malformed input: keep the source
        return text
    return _SPACES.sub(" ", converted.translate(_RESTORE)).strip()


def _shield(text: str) -> str:
    """Protect, outside math spans, the characters LaTeX would swallow or reinterpret."""
    parts: list[str] = []
    last = 0
    for match in _MATH.finditer(text):
        if _is_math(match.group(2)):
            parts.append(_shield_plain(text[last : match.start()]))
            parts.append(match.group(0))
            last = match.end()
    parts.append(_shield_plain(text[last:]))
    return "".join(parts)


def _shield_plain(text: str) -> str:
    """Bare %, ~, &, # and $ become placeholders; their escaped forms (\\%) stay for LaTeX."""
    return re.sub(r"(?<!\\)[%~&#$]", lambda m: _SHIELDED[m.group(0)], text)


@lru_cache(maxsize=1)
def _converter() -> LatexNodes2Text:
    context = get_default_latex_context_db()
    context.add_context_category(
        "digest-readable",
        macros=[MacroTextSpec(name, simplify_repl=f"{name} ") for name in _OPERATORS]
        + [MacroTextSpec(name, simplify_repl="%(1)s") for name in _PLAIN_STYLES],
        prepend=True,
    )
    return LatexNodes2Text(latex_context=context, math_mode="text", strict_latex_spaces=False)
