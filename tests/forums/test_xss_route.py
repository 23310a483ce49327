"""The XSS corpus through the real post route: no script element, event-handler
attribute or script-capable URL from a post reaches the thread page (HTML or JSON),
the search page, the feed or a notification email."""

from __future__ import annotations

import html
import re
import unicodedata
from html.parser import HTMLParser
from urllib.parse import unquote

from tests.forums.forumsite import ALICE, BOB, forum_portal
from tests.forums.xss_corpus import VECTORS

SCHEME_RE = re.compile(r"([a-z][a-z0-9+.\-]*):", re.I)
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "background",
                  "poster", "srcset", "codebase", "cite", "lowsrc", "dynsrc"}
FORBIDDEN = {"script", "iframe", "object", "embed", "style", "svg", "math", "frame",
             "frameset", "form", "input", "button", "textarea", "meta", "link", "base",
             "template", "noscript", "video", "audio", "source", "details", "marquee",
             "isindex", "title", "body"}


def scheme(url: str) -> str | None:
    text = url
    for _ in range(4):
        decoded = unquote(html.unescape(text))
        if decoded == text:
            break
        text = decoded
    text = "".join(ch for ch in text
                   if not ch.isspace() and unicodedata.category(ch)[0] not in "CZ")
    found = SCHEME_RE.match(text)
    return found.group(1).lower() if found else None


class Audit(HTMLParser):
    """Collects every problem in a fragment of post HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in FORBIDDEN:
            self.problems.append(f"element <{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler {name} on <{tag}>")
            if name in ("style", "srcdoc", "formaction"):
                self.problems.append(f"attribute {name} on <{tag}>")
            if name in URL_ATTRIBUTES and value is not None:
                found = scheme(value)
                if found not in (None, "http", "https", "mailto"):
                    self.problems.append(f"{name}={value!r} on <{tag}>")

    handle_startendtag = handle_starttag


def problems(fragment: str) -> list[str]:
    audit = Audit()
    audit.feed(fragment)
    audit.close()
    return audit.problems


ARTICLE = re.compile(r'<article class="card mb-3" id="post-(\d+)">.*?<div class="card-body">'
                     r'(.*?)</div>\s*<div class="card-footer">', re.S)


async def test_xss_corpus_never_reaches_the_page(database_url: str) -> None:
    async with forum_portal(database_url, settings={"Forums/PageSize": "100"}) as fp:
        general = await fp.forum_id("general")
        thread, _ = await fp.thread(ALICE, general, "XSS corpus", "The corpus follows.")
        await fp.post(f"/forums/threads/{thread}/subscribe", BOB)
        posted: dict[int, str] = {}
        for vector_id, source in VECTORS:
            row = await fp.reply(ALICE, thread, source)
            posted[row["id"]] = vector_id
            assert problems(row["body_html"]) == [], (vector_id, row["body_html"])
        page = await fp.get(f"/forums/threads/{thread}", BOB)
        assert page.status_code == 200
        articles = dict(ARTICLE.findall(page.text))
        assert set(posted) <= {int(k) for k in articles}
        for post_id, vector_id in posted.items():
            assert problems(articles[str(post_id)]) == [], vector_id
        # the whole page: the layout adds a stylesheet <link>, nothing script-capable
        whole = [p for p in problems(page.text)
                 if p not in ("element <link>", "element <title>", "element <body>",
                              "element <meta>", "element <form>", "element <input>",
                              "element <button>", "element <textarea>", "element <details>")]
        assert whole == []
        assert "<script" not in page.text.lower()
        # raw HTML in a post is shown as text, never as markup
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
        data = await fp.json(f"/forums/threads/{thread}", BOB)
        for post in data["posts"]:
            assert problems(post["body_html"]) == [], posted.get(post["id"])
        search = await fp.get("/forums/search?q=alert", BOB)
        assert search.status_code == 200 and "<script" not in search.text.lower()
        feed = await fp.get("/forums/feed", BOB)
        assert "<script" not in feed.text.lower()
        await fp.send_notifications()
        (mail,) = fp.mail.to("bob@partner.example")
        assert mail.get_body(("html",)) is None  # plain text only


async def test_stored_html_is_recomputed_on_every_write_path(database_url: str) -> None:
    async with forum_portal(database_url) as fp:
        general = await fp.forum_id("general")
        thread, _ = await fp.thread(ALICE, general, "API", "x")
        r = await fp.send("POST", "/_api/forum_post", ALICE, {
            "thread": thread, "body": "[x](javascript:alert(1)) ok",
            "body_html": "<img src=x onerror=alert(1)>"})
        assert r.status_code == 201, r.text
        posts = await fp.posts(BOB, thread)
        assert posts[-1]["body"] == "[x](javascript:alert(1)) ok"
        assert problems(posts[-1]["body_html"]) == []
        assert "onerror" not in posts[-1]["body_html"]
        assert "href" not in posts[-1]["body_html"]  # the link is shown as text
