"""Tests for portalis.plugins.forums.markup: XSS resistance and Markdown behaviour."""

from __future__ import annotations

import html
import re
import unicodedata
from html.parser import HTMLParser
from urllib.parse import unquote

import pytest

from portalis.plugins.forums.markup import (
    LINK_REL,
    excerpt,
    quote_post,
    render_markdown,
    sanitize_html,
)

from .xss_corpus import VECTORS

FORBIDDEN_ELEMENTS = {
    "script", "iframe", "object", "embed", "style", "svg", "math", "frame", "frameset",
    "form", "input", "button", "textarea", "meta", "link", "base", "template", "noscript",
    "video", "audio", "source", "details", "marquee", "isindex", "title", "body",
}  # fmt: skip
# What Markdown output may contain at all; a stricter check than the deny-list.
EXPECTED_ELEMENTS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "img", "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th",
    "thead", "tr", "ul",
}  # fmt: skip
URL_ATTRIBUTES = {
    "href", "src", "action", "formaction", "data", "xlink:href", "background", "poster",
    "srcset", "codebase", "cite", "lowsrc", "dynsrc",
}  # fmt: skip
SCHEME_RE = re.compile(r"([a-z][a-z0-9+.\-]*):", re.I)


class Element:
    def __init__(self, tag: str, attrs: dict[str, str | None]) -> None:
        self.tag = tag
        self.attrs = attrs

    def __repr__(self) -> str:
        return f"<{self.tag} {self.attrs}>"


class Collector(HTMLParser):
    """Parses an HTML fragment into a flat list of elements, plus text and comments."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.comments: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, dict(attrs)))

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)

    def unknown_decl(self, data: str) -> None:
        self.comments.append(data)

    def handle_pi(self, data: str) -> None:
        self.comments.append(data)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(fragment: str) -> Collector:
    collector = Collector()
    collector.feed(fragment)
    collector.close()
    return collector


def effective_scheme(url: str) -> str | None:
    """Scheme after unescaping (HTML and percent, repeatedly) and dropping
    control/format/whitespace characters; None for a relative URL."""
    text = url
    for _ in range(5):
        decoded = unquote(html.unescape(text))
        if decoded == text:
            break
        text = decoded
    text = "".join(
        ch for ch in text if not ch.isspace() and unicodedata.category(ch)[0] not in "CZ"
    )
    match = SCHEME_RE.match(text)
    return match.group(1).lower() if match else None


def assert_safe(fragment: str) -> Collector:
    doc = parse(fragment)
    lowered = fragment.lower()
    assert "<script" not in lowered
    assert "<!--" not in fragment
    assert not doc.comments, doc.comments
    for el in doc.elements:
        assert el.tag not in FORBIDDEN_ELEMENTS, el
        assert el.tag in EXPECTED_ELEMENTS, el
        for name, value in el.attrs.items():
            assert not name.startswith("on"), el
            assert name not in {"style"} or el.tag in {"th", "td"}, el
            if name == "style":
                assert value in {"text-align:left", "text-align:center", "text-align:right"}
            if name in URL_ATTRIBUTES:
                assert value is not None
                scheme = effective_scheme(value)
                allowed = {"http", "https"} if el.tag == "img" else {"http", "https", "mailto"}
                assert scheme is None or scheme in allowed, el
        if el.tag == "a":
            assert el.attrs.get("rel") == LINK_REL, el
    return doc


def test_corpus_is_big_enough() -> None:
    assert len(VECTORS) >= 40
    assert len({name for name, _ in VECTORS}) == len(VECTORS)


@pytest.mark.parametrize("source", [v for _, v in VECTORS], ids=[n for n, _ in VECTORS])
def test_rendered_markdown_is_safe(source: str) -> None:
    assert_safe(render_markdown(source))


@pytest.mark.parametrize("source", [v for _, v in VECTORS], ids=[n for n, _ in VECTORS])
def test_sanitizer_alone_is_safe(source: str) -> None:
    assert_safe(sanitize_html(source))


@pytest.mark.parametrize("source", [v for _, v in VECTORS], ids=[n for n, _ in VECTORS])
def test_vector_inside_markdown_context_is_safe(source: str) -> None:
    # The same payloads embedded in list items, quotes and emphasis.
    assert_safe(render_markdown(f"- item {source}\n\n> {source}\n\n**{source}**"))


def test_checker_catches_unsafe_html() -> None:
    # Guard against a checker that accepts everything.
    for bad in [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        '<a href="jav&#x09;ascript:alert(1)" rel="nofollow noopener ugc">x</a>',
        '<a href="%6Aavascript:alert(1)" rel="nofollow noopener ugc">x</a>',
        '<img src="mailto:a@b.example">',
        "<svg></svg>",
        '<p style="color:red">x</p>',
        "<!-- x -->",
        '<a href="/x">no rel</a>',
    ]:
        with pytest.raises(AssertionError):
            assert_safe(bad)


# --- raw HTML is escaped, not interpreted, not silently dropped -------------------


def test_raw_html_is_shown_as_text() -> None:
    assert render_markdown("<b>bold?</b>") == "<p>&lt;b&gt;bold?&lt;/b&gt;</p>\n"
    out = render_markdown("<script>alert(1)</script>")
    assert out == "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
    assert "".join(parse(out).text).strip() == "<script>alert(1)</script>"


def test_html_block_is_escaped() -> None:
    out = render_markdown('<div class="x">\nhi\n</div>')
    doc = assert_safe(out)
    assert [e.tag for e in doc.elements] == ["p"]
    assert "&lt;div" in out


def test_forbidden_markdown_link_stays_visible_as_text() -> None:
    out = render_markdown("[click](javascript:alert(1))")
    doc = assert_safe(out)
    assert [e.tag for e in doc.elements] == ["p"]
    assert "".join(doc.text).strip() == "[click](javascript:alert(1))"


def test_sanitizer_drops_forbidden_href_but_keeps_text() -> None:
    out = sanitize_html('<a href="JaVaScRiPt:alert(1)">x</a>')
    doc = assert_safe(out)
    assert "href" not in doc.elements[0].attrs
    assert "".join(doc.text) == "x"


def test_sanitizer_drops_script_content() -> None:
    assert sanitize_html("a<script>alert(1)</script>b") == "ab"


# --- normal Markdown --------------------------------------------------------------


def test_empty_input() -> None:
    assert render_markdown("") == ""
    assert render_markdown("  \n\t\n") == ""


def test_emphasis_strong_strikethrough_inline_code() -> None:
    out = render_markdown("*a* **b** ~~c~~ `x < y`")
    assert out == ("<p><em>a</em> <strong>b</strong> <s>c</s> <code>x &lt; y</code></p>\n")


def test_headings_rule_and_paragraphs() -> None:
    out = render_markdown("# One\n\n## Two\n\ntext\n\n---\n\nmore")
    assert out == "<h1>One</h1>\n<h2>Two</h2>\n<p>text</p>\n<hr>\n<p>more</p>\n"


def test_lists() -> None:
    assert render_markdown("- a\n- b") == "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n"
    assert render_markdown("3. x\n4. y") == '<ol start="3">\n<li>x</li>\n<li>y</li>\n</ol>\n'
    nested = assert_safe(render_markdown("1. a\n   - b\n   - c\n2. d"))
    assert [e.tag for e in nested.elements] == ["ol", "li", "ul", "li", "li", "li"]


def test_fenced_code_block_shows_script_as_text() -> None:
    out = render_markdown("```html\n<script>alert('hi')</script>\n```")
    assert out == (
        '<pre><code class="language-html">'
        "&lt;script&gt;alert('hi')&lt;/script&gt;\n"
        "</code></pre>\n"
    )
    assert_safe(out)


def test_indented_code_block_is_escaped() -> None:
    out = render_markdown("    <iframe src=x></iframe>")
    assert out == "<pre><code>&lt;iframe src=x&gt;&lt;/iframe&gt;\n</code></pre>\n"


def test_links_get_rel_and_keep_url_and_title() -> None:
    out = render_markdown('[Docs](https://example.com/docs?a=1&b=2 "The docs")')
    doc = assert_safe(out)
    (a,) = [e for e in doc.elements if e.tag == "a"]
    assert a.attrs == {
        "href": "https://example.com/docs?a=1&b=2",
        "title": "The docs",
        "rel": "nofollow noopener ugc",
    }


@pytest.mark.parametrize(
    "url", ["http://example.com/", "mailto:someone@example.com", "/forums/12", "#reply-3",
            "?page=2", "topic/5"],
)  # fmt: skip
def test_allowed_link_targets(url: str) -> None:
    doc = assert_safe(render_markdown(f"[x]({url})"))
    (a,) = [e for e in doc.elements if e.tag == "a"]
    assert a.attrs["href"] == url


def test_autolink() -> None:
    out = render_markdown("see <https://example.com/a>")
    assert out == (
        '<p>see <a href="https://example.com/a" rel="nofollow noopener ugc">'
        "https://example.com/a</a></p>\n"
    )


def test_reference_link() -> None:
    doc = assert_safe(render_markdown("[site][1]\n\n[1]: https://example.com/"))
    (a,) = [e for e in doc.elements if e.tag == "a"]
    assert a.attrs["href"] == "https://example.com/"


def test_images() -> None:
    out = render_markdown('![a cat](https://example.com/cat.png "Cat") ![rel](/img/x.png)')
    doc = assert_safe(out)
    imgs = [e.attrs for e in doc.elements if e.tag == "img"]
    assert imgs == [
        {"src": "https://example.com/cat.png", "alt": "a cat", "title": "Cat"},
        {"src": "/img/x.png", "alt": "rel"},
    ]


def test_image_with_mailto_source_loses_src() -> None:
    doc = assert_safe(render_markdown("![x](mailto:a@example.com)"))
    (img,) = [e for e in doc.elements if e.tag == "img"]
    assert "src" not in img.attrs


def test_data_image_is_not_an_image() -> None:
    doc = assert_safe(render_markdown("![x](data:image/png;base64,iVBORw0KGgo=)"))
    assert not [e for e in doc.elements if e.tag == "img"]


def test_table_with_alignment() -> None:
    out = render_markdown("| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |")
    doc = assert_safe(out)
    cells = [(e.tag, e.attrs.get("style")) for e in doc.elements if e.tag in {"th", "td"}]
    assert cells == [
        ("th", "text-align:left"), ("th", "text-align:center"), ("th", "text-align:right"),
        ("td", "text-align:left"), ("td", "text-align:center"), ("td", "text-align:right"),
    ]  # fmt: skip


def test_blockquote_and_hard_break() -> None:
    out = render_markdown("> quoted  \n> line")
    assert out == "<blockquote>\n<p>quoted<br>\nline</p>\n</blockquote>\n"


def test_entities_in_text_are_re_escaped() -> None:
    out = render_markdown("&lt;script&gt; &#60;img&#62; AT&T")
    assert out == "<p>&lt;script&gt; &lt;img&gt; AT&amp;T</p>\n"


# --- quote_post ---------------------------------------------------------------------


def test_quote_post_format() -> None:
    assert quote_post("alice", "Hello\nworld") == ("> **alice** wrote:\n>\n> Hello\n> world\n\n")


def test_quote_post_renders_as_blockquote_with_attribution() -> None:
    out = render_markdown(quote_post("alice", "Hello **there**"))
    assert out == (
        "<blockquote>\n<p><strong>alice</strong> wrote:</p>\n"
        "<p>Hello <strong>there</strong></p>\n</blockquote>\n"
    )


def test_quote_post_keeps_nested_quotes() -> None:
    inner = quote_post("bob", "first")
    outer = quote_post("alice", inner + "I agree")
    assert outer == ("> **alice** wrote:\n>\n> > **bob** wrote:\n> >\n> > first\n>\n> I agree\n\n")
    doc = parse(render_markdown(outer))
    assert [e.tag for e in doc.elements].count("blockquote") == 2
    out = render_markdown(outer)
    # bob's post is inside the inner blockquote, alice's comment only in the outer one
    assert out.index("<blockquote>", 1) < out.index("first") < out.index("</blockquote>")
    assert out.index("</blockquote>") < out.index("I agree")


def test_quote_post_reply_appended_directly_is_not_quoted() -> None:
    out = render_markdown(quote_post("alice", "hi") + "my reply")
    assert out.endswith("</blockquote>\n<p>my reply</p>\n")


def test_quote_post_escapes_author() -> None:
    author = "*bob* [x](javascript:alert(1)) <script>\n# head"
    out = render_markdown(quote_post(author, "text"))
    doc = assert_safe(out)
    assert [e.tag for e in doc.elements] == ["blockquote", "p", "strong", "p"]
    assert "*bob* [x](javascript:alert(1)) &lt;script&gt; # head" in out


def test_quote_post_normalises_line_endings_and_blank_edges() -> None:
    assert quote_post("a", "\r\n\r\nx\r\n\r\ny\r\n\r\n") == "> **a** wrote:\n>\n> x\n>\n> y\n\n"


def test_quote_post_keeps_code_block_inside_quote() -> None:
    out = render_markdown(quote_post("a", "```\n<b>\n```\nafter"))
    assert out == (
        "<blockquote>\n<p><strong>a</strong> wrote:</p>\n"
        "<pre><code>&lt;b&gt;\n</code></pre>\n<p>after</p>\n</blockquote>\n"
    )


def test_quote_post_empty_author_and_text() -> None:
    assert quote_post("  ", "") == "> **Someone** wrote:\n\n"


# --- excerpt --------------------------------------------------------------------------


def test_excerpt_strips_markup() -> None:
    text = "# Title\n\nSome **bold** and _em_ with [a link](https://example.com).\n\n- one\n- two"
    assert excerpt(text, 200) == "Title Some bold and em with a link. one two"


def test_excerpt_has_no_tags_and_decodes_entities() -> None:
    result = excerpt("AT&T says 1 < 2 &amp; `x>y`\n\n![pic](https://e.example/p.png)", 100)
    assert result == "AT&T says 1 < 2 & x>y"


def test_excerpt_truncates_at_word_boundary() -> None:
    text = "The quick brown fox jumps over the lazy dog"
    assert excerpt(text, 20) == "The quick brown fox…"
    assert excerpt(text, 19) == "The quick brown…"
    for n in range(1, 50):
        result = excerpt(text, n)
        assert len(result) <= n
        if n < len(text):
            assert result.endswith("…")
            assert text.startswith(result[:-1])
        else:
            assert result == text


def test_excerpt_cuts_a_single_long_word() -> None:
    assert excerpt("Supercalifragilistic", 6) == "Super…"
    assert excerpt("abc", 1) == "…"


def test_excerpt_collapses_whitespace_and_code() -> None:
    assert excerpt("para one\n\n\n   para\ttwo\n\n```\ncode  block\n```", 100) == (
        "para one para two code block"
    )


def test_excerpt_of_raw_html_is_the_visible_text() -> None:
    assert excerpt("<b>x</b> <script>alert(1)</script>", 100) == (
        "<b>x</b> <script>alert(1)</script>"
    )


def test_excerpt_rejects_bad_length() -> None:
    with pytest.raises(ValueError):
        excerpt("x", 0)
