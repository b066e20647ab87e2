"""Guidelines Markdown to HTML for annotators: no raw HTML, headings below h1, and the result
cleaned by an allow-list (nh3) so that nothing but plain document markup reaches the page."""

from __future__ import annotations

import markdown
import nh3
from markdown.extensions.tables import TableExtension
from markdown.extensions.toc import TocExtension

# What Markdown itself produces, and nothing else. No ``style`` (a fixed-position element
# covers the page and catches every click even when CSP stops scripts), no ``class``, no event
# handlers; ``id`` only where the renderer makes link targets (headings for the TOC, footnotes).
ALLOWED_TAGS = {
    "a", "abbr", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h2", "h3",
    "h4", "h5", "h6", "hr", "img", "li", "ol", "p", "pre", "strong", "sup", "table", "tbody",
    "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
    **{h: {"id"} for h in ("h2", "h3", "h4", "h5", "h6")},
    "li": {"id"},
    "sup": {"id"},
}
# Relative targets (``/help``, ``#rules``) have no scheme and are kept; the cleaner decodes
# entities before it reads a scheme, so ``&#106;avascript:`` is refused like ``javascript:``.
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}


def clean_html(html: str) -> str:
    """Keep only the allow-listed tags, attributes and URL schemes of ``html``."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel=None,
        strip_comments=True,
    )


def guidelines_html(text: str) -> str:
    """Render a project's guidelines.

    Raw HTML is shown as text (Markdown's HTML block and inline handlers are removed, so code
    spans and autolinks keep working); ``#`` headings become ``<h2>`` and below, since the page
    has its own ``<h1>``. Markdown Extra without ``attr_list`` (``{: ...}`` stays text: it only
    sets attributes the cleaner would drop) and ``md_in_html`` (there is no raw HTML). The HTML
    is then cleaned (:func:`clean_html`): links keep only http(s), mailto and relative targets.
    """
    md = markdown.Markdown(
        extensions=[
            "abbr",
            "def_list",
            "fenced_code",
            "footnotes",
            TableExtension(use_align_attribute=True),
            TocExtension(baselevel=2),
        ]
    )
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    return clean_html(md.convert(text or ""))
