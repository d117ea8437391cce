"""CSS inlined into email templates once, when Jinja2 loads them, never once per email.

Every start tag with a static ``class="..."`` gains the ``style="..."`` that the stylesheet gives
those classes. css-inline computes the styles from a small probe document (one empty element per
distinct tag + class list), so Jinja syntax never passes through an HTML parser. ``@media`` and
``:root`` rules cannot be inlined; :func:`split_css` sets them aside for the layout's ``<style>``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import css_inline
from jinja2 import Environment, FileSystemLoader

_START_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)\b([^<>]*)>")
_CLASS_ATTR = re.compile(r'\sclass="([^"{}]*)"')
_STYLE_ATTR = re.compile(r'\sstyle="')


class _ClassCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.styles: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        key, style = values.get("data-k"), values.get("style")
        if key is not None and style:
            self.styles[key] = style


def split_css(css: str) -> tuple[str, str]:
    """(plain rules to inline, ``@media``/``:root`` rules to keep in a ``<style>`` block)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    inline: list[str] = []
    kept: list[str] = []
    depth = start = 0
    for i, char in enumerate(css):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                rule = css[start : i + 1].strip()
                keep = rule.startswith(("@", ":root"))
                (kept if keep else inline).append(rule)
                start = i + 1
    return "\n".join(inline), "\n".join(kept)


class InliningLoader(FileSystemLoader):
    """A FileSystemLoader that gives each static class attribute in ``.html`` its inline style."""

    def __init__(self, searchpath: Path, css: str) -> None:
        super().__init__(searchpath)
        self.css = css
        self.inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        if template.endswith(".html"):
            source = self.inline_styles(source)
        return source, filename, uptodate

    def inline_styles(self, source: str) -> str:
        tags = {
            (m[1].lower(), c[1])
            for m in _START_TAG.finditer(source)
            if (c := _CLASS_ATTR.search(m[2]))
        }
        probes = sorted(tags)
        body = "".join(_probe(tag, classes, i) for i, (tag, classes) in enumerate(probes))
        collector = _ClassCollector()
        collector.feed(
            self.inliner.inline(
                f"<html><head><style>{self.css}</style></head><body>{body}</body></html>"
            )
        )
        styles = {probes[int(k)]: v for k, v in collector.styles.items()}

        def add_style(match: re.Match[str]) -> str:
            attrs = match[2]
            found = _CLASS_ATTR.search(attrs)
            style = styles.get((match[1].lower(), found[1])) if found else None
            if not found or not style:
                return match[0]
            style = html.escape(style.strip().rstrip(";"), quote=False).replace('"', "&quot;")
            if _STYLE_ATTR.search(attrs):
                attrs = _STYLE_ATTR.sub(lambda _: f' style="{style};', attrs, count=1)
            else:
                attrs = attrs.replace(found[0], f'{found[0]} style="{style}"', 1)
            return f"<{match[1]}{attrs}>"

        return _START_TAG.sub(add_style, source)


def _probe(tag: str, classes: str, index: int) -> str:
    element = tag if tag not in ("html", "head", "body") else "div"
    probe = f'<{element} data-k="{index}" class="{classes}"></{element}>'
    if element in ("td", "th"):
        return f"<table><tr>{probe}</tr></table>"
    if element == "tr":
        return f"<table>{probe}</table>"
    return probe
