"""Guidelines Markdown to HTML for annotators: no raw HTML, no script links, headings below h1."""

from __future__ import annotations

from urllib.parse import urlsplit

import markdown
from markdown.extensions.toc import TocExtension
from markdown.treeprocessors import Treeprocessor

SAFE_SCHEMES = {"", "http", "https", "mailto"}


class _SafeLinks(Treeprocessor):
    """Drop link and image targets whose scheme could run code (``javascript:``, ``data:``)."""

    def run(self, root):
        for element in root.iter():
            for attribute in ("href", "src"):
                value = element.get(attribute)
                if value is not None and urlsplit(value.strip()).scheme.lower() not in SAFE_SCHEMES:
                    element.set(attribute, "#")
        return root


def guidelines_html(text: str) -> str:
    """Render a project's guidelines.

    Raw HTML is shown as text (Markdown's HTML block and inline handlers are removed, so code
    spans and autolinks keep working); ``#`` headings become ``<h2>`` and below, since the page
    has its own ``<h1>``; links keep only http(s), mailto and relative targets.
    """
    md = markdown.Markdown(extensions=["extra", TocExtension(baselevel=2)])
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    md.treeprocessors.register(_SafeLinks(md), "safe_links", 0)
    return md.convert(text or "")
