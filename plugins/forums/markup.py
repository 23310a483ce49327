"""Markdown rendering, quoting and plain-text excerpts for forum posts.

Framework-independent: nothing here touches Litestar, Piccolo or the plugin
manager, so it can be used from request handlers, notification jobs and feeds.

What callers may rely on:

* :func:`render_markdown` returns an HTML fragment that is safe to insert into
  a page as-is. Markdown is parsed as CommonMark plus GFM tables and
  strikethrough. Raw HTML written in a post is never interpreted: it is shown
  as text. The output is then passed through an allow-list sanitiser
  (:func:`sanitize_html`), so even a bug in the Markdown layer cannot produce a
  script, an event handler or a ``javascript:`` link.
* Links carry ``rel="nofollow noopener ugc"``. Link targets are ``http``,
  ``https``, ``mailto`` or relative; image sources are ``http``, ``https`` or
  relative. Anything else is dropped (a Markdown link with a forbidden target
  is shown as literal text; a forbidden ``href``/``src`` attribute is removed).
* :func:`quote_post` returns Markdown (not HTML); :func:`excerpt` returns plain
  text (not HTML: escape it like any other text when putting it into a page).
"""

from __future__ import annotations

import html
import re
import unicodedata
from html.parser import HTMLParser
from urllib.parse import unquote

import nh3
from markdown_it import MarkdownIt

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "ALLOWED_TAGS",
    "IMAGE_URL_SCHEMES",
    "LINK_REL",
    "LINK_URL_SCHEMES",
    "excerpt",
    "quote_post",
    "render_markdown",
    "sanitize_html",
]

#: Elements the rendered HTML may contain: exactly what the enabled Markdown
#: syntax produces, nothing else.
ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
        "hr", "img", "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th",
        "thead", "tr", "ul",
    }
)  # fmt: skip

#: Attributes kept per element (``rel`` on links is set by the sanitiser itself,
#: ``style`` on table cells is restricted to the three alignments, see below).
ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "title"}),
    "img": frozenset({"src", "alt", "title"}),
    "ol": frozenset({"start"}),
    "code": frozenset({"class"}),
}

#: URL schemes allowed in link targets; relative URLs are allowed too.
LINK_URL_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto"})
#: URL schemes allowed for image sources; relative URLs are allowed too.
IMAGE_URL_SCHEMES: frozenset[str] = frozenset({"http", "https"})
#: The ``rel`` every link gets: user-generated content, no SEO credit, no opener.
LINK_REL = "nofollow noopener ugc"

_CELL_ALIGN = {f"text-align:{side}" for side in ("left", "center", "right")}
# Elements whose *content* is dropped along with the element (must be disjoint
# from ALLOWED_TAGS). Everything else that is not allowed is unwrapped to text.
_CLEAN_CONTENT_TAGS = frozenset(
    {
        "script", "style", "iframe", "object", "embed", "svg", "math", "template",
        "noscript", "noembed", "noframes", "xmp", "textarea", "title", "select",
    }
)  # fmt: skip
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_CODE_CLASS_RE = re.compile(r"language-[A-Za-z0-9_+#.\-]{1,40}")


def _url_scheme(url: str) -> str | None:
    """The scheme a browser could end up seeing in *url*, lower-cased, or None.

    Deliberately paranoid: HTML entities and percent-escapes are decoded
    (repeatedly), then every control, format and whitespace character is
    removed, before looking for ``scheme:``. ``None`` means the URL is
    relative (``/x``, ``x/y:z``, ``#frag``, ``?q``, ``//host/x``).
    """
    text = url
    for _ in range(4):
        decoded = unquote(html.unescape(text))
        if decoded == text:
            break
        text = decoded
    text = "".join(
        ch for ch in text if not ch.isspace() and unicodedata.category(ch)[0] not in "CZ"
    )
    match = _SCHEME_RE.match(text)
    return match.group(1).lower() if match else None


def _url_allowed(url: str, schemes: frozenset[str]) -> bool:
    scheme = _url_scheme(url)
    return scheme is None or scheme in schemes


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    if attr == "href":
        return value if _url_allowed(value, LINK_URL_SCHEMES) else None
    if attr == "src":
        return value if _url_allowed(value, IMAGE_URL_SCHEMES) else None
    if tag == "code" and attr == "class":
        return value if _CODE_CLASS_RE.fullmatch(value) else None
    if tag == "ol" and attr == "start":
        return value if value.isascii() and value.isdigit() and len(value) <= 9 else None
    return value


_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(_CLEAN_CONTENT_TAGS),
    attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
    attribute_filter=_attribute_filter,
    tag_attribute_values={"th": {"style": set(_CELL_ALIGN)}, "td": {"style": set(_CELL_ALIGN)}},
    url_schemes=set(LINK_URL_SCHEMES),
    link_rel=LINK_REL,
    strip_comments=True,
)


def _validate_link(url: str) -> bool:
    # markdown-it asks this for links, images and autolinks alike; a refused
    # link is rendered as its literal source text. Images are narrowed further
    # (no mailto:) by the sanitiser.
    return _url_allowed(url, LINK_URL_SCHEMES)


def _make_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = _validate_link  # type: ignore[method-assign]
    return md


_MD = _make_parser()


def sanitize_html(fragment: str) -> str:
    """Sanitise an HTML fragment with the forum allow-list.

    Only :data:`ALLOWED_TAGS` survive (other elements are unwrapped to their
    text, or dropped with their content for script-like elements), only
    :data:`ALLOWED_ATTRIBUTES` are kept, URLs are restricted as described in the
    module docstring, comments are removed and links get :data:`LINK_REL`.
    """
    return _CLEANER.clean(fragment)


def render_markdown(text: str) -> str:
    """Render a forum post's Markdown source to a safe HTML fragment.

    CommonMark + tables + strikethrough; raw HTML in *text* is escaped, never
    passed through; the result is sanitised with :func:`sanitize_html`.
    Returns ``""`` for empty or whitespace-only input.
    """
    if not text.strip():
        return ""
    return sanitize_html(_MD.render(text))


# --- quoting -------------------------------------------------------------------

_MD_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation char


def _escape_inline_markdown(text: str) -> str:
    """Escape *text* so that it renders as exactly these characters, on one line."""
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    text = " ".join(text.split())
    return _MD_PUNCTUATION.sub(r"\\\1", text)


def quote_post(author: str, text: str) -> str:
    """Markdown that quotes another post, for pre-filling a reply.

    The result is an attribution line (``**author** wrote:``, the name escaped
    so it can't inject markup) followed by every line of *text* prefixed with
    ``> ``. Quotes inside *text* stay quotes, one level deeper. Line endings are
    normalised to ``\\n``, leading and trailing blank lines are dropped, and
    the result always ends with a blank line, so a reply can be appended
    directly without being swallowed into the quote. An empty author becomes
    ``Someone``.
    """
    name = _escape_inline_markdown(author) or "Someone"
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    quoted = [f"> **{name}** wrote:"]
    if lines:
        quoted.append(">")
        quoted.extend(f"> {line}".rstrip() if line.strip() else ">" for line in lines)
    return "\n".join(quoted) + "\n\n"


# --- excerpts ------------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    {
        "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "blockquote",
        "pre", "table", "thead", "tbody", "tr", "td", "th",
    }
)  # fmt: skip
_ELLIPSIS = "\u2026"


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def excerpt(text: str, length: int = 200) -> str:
    """Plain-text excerpt of a post's Markdown, at most *length* characters.

    The Markdown is rendered first, so the excerpt holds what a reader sees:
    no Markdown syntax, no tags, entities decoded (link text is kept, URLs and
    images are not). Whitespace runs, including paragraph breaks, become one
    space. If the text is longer than *length* it is cut at the last word
    boundary that fits (mid-word only if a single word is too long) and ends
    with ``…``; the ellipsis counts toward *length*. The result is text, not
    HTML: escape it when you embed it in HTML. Raises ``ValueError`` if
    *length* < 1.
    """
    if length < 1:
        raise ValueError("length must be at least 1")
    parser = _TextExtractor()
    parser.feed(render_markdown(text))
    parser.close()
    plain = "".join(
        " " if unicodedata.category(ch)[0] in "CZ" else ch for ch in "".join(parser.parts)
    )
    plain = " ".join(plain.split())
    if len(plain) <= length:
        return plain
    room = plain[: length - 1]
    if plain[length - 1] != " " and " " in room:
        room = room.rsplit(" ", 1)[0]
    return room.rstrip() + _ELLIPSIS
