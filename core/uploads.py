"""Checking uploaded files, and the headers to hand them back with.

The kernel's web-file rules, shared by every plugin that accepts files (web files of
the pages plugin, forum attachments, ...):

* the file name's extension picks the content type from the caller's allow-list
  (``types``: extension -> content type served); anything else is refused (415);
* the declared content type (the multipart part's ``Content-Type``), when given, must
  be that type (or ``application/octet-stream``, which says nothing);
* the type sniffed from the content must agree: an image must *be* that image, a PDF a
  PDF, and text must be UTF-8 without markup at its start (an HTML page or an SVG
  renamed ``.txt``/``.css``/``.png`` is refused);
* the size is limited (413) and an empty file is refused (400).

:func:`download_headers` are the headers to serve a user's file with so that a
browser never runs it: ``Content-Disposition: attachment``, ``nosniff`` and a
sandboxing ``Content-Security-Policy``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from urllib.parse import quote

from portalis.core.errors import InvalidInput, PortalisError

__all__ = [
    "DECLARED_ALIASES",
    "FileTooLarge",
    "UnsupportedFile",
    "check_upload",
    "download_headers",
    "safe_filename",
    "sniff",
]

#: Declared types that mean the same as the canonical one.
DECLARED_ALIASES = {
    "image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg",
    "image/vnd.microsoft.icon": "image/x-icon",
    "application/javascript": "text/javascript", "application/x-javascript": "text/javascript",
    "application/x-pdf": "application/pdf",
}
#: Declared types that say nothing about the file (browsers send them for unknown files).
UNDECLARED = frozenset({"", "application/octet-stream"})
# Content that sniffs as binary of one of these kinds; everything else must be text.
BINARY_KINDS = ("image/", "application/pdf")
_MARKUP_START = ("<!doctype", "<html", "<script", "<svg", "<?xml", "<body", "<head",
                 "<iframe", "<object", "<embed")
_FILENAME = re.compile(r"[^\w.\- ]+")


class FileTooLarge(PortalisError):
    """The upload is larger than the limit (413)."""

    status = 413
    code = "file_too_large"


class UnsupportedFile(PortalisError):
    """The upload's name, declared type or content is not allowed, or they disagree."""

    status = 415
    code = "unsupported_file"


def sniff(content: bytes) -> str | None:
    """The type of ``content``: an image type, ``application/pdf``, ``"text"`` for
    UTF-8 text that does not start like markup, or None (binary or markup)."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    if content.startswith(b"\x00\x00\x01\x00"):
        return "image/x-icon"
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if b"\x00" in content:
        return None
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    head = text.lstrip().lstrip("\ufeff").lstrip()[:200].lower()
    if head.startswith(_MARKUP_START):
        return None  # markup under a text name (a page, a script, an SVG) is refused
    return "text"


def _base(content_type: str | None) -> str:
    base = (content_type or "").split(";")[0].strip().lower()
    return DECLARED_ALIASES.get(base, base)


def check_upload(name: str, declared: str | None, content: bytes, limit: int,
                 types: Mapping[str, str]) -> str:
    """The content type to serve ``content`` with, or a 4xx error naming the problem.

    ``name`` is the file name (a path is fine: its last segment counts), ``declared``
    the type the client declared, ``limit`` the largest size in bytes and ``types`` the
    allowed extensions with the content type each is served with.
    """
    if len(content) > limit:
        raise FileTooLarge(f"the file is larger than the limit of {limit} bytes",
                           limit=limit)
    if not content:
        raise InvalidInput("the file is empty", code="empty_file")
    last = name.rsplit("/", 1)[-1]
    ext = last.rsplit(".", 1)[-1].lower() if "." in last else ""
    served = types.get(ext)
    if not name.strip("/") or served is None:
        raise UnsupportedFile(
            f"file name {last!r} must end in one of: {', '.join(sorted(types))}")
    expected = _base(served)
    if declared and _base(declared) not in (expected, *UNDECLARED):
        raise UnsupportedFile(
            f"the declared type {_base(declared)} does not match the file name ({expected})")
    found = sniff(content)
    if expected.startswith(BINARY_KINDS):
        if found != expected:
            kind = "a PDF document" if expected == "application/pdf" else \
                f"a {expected} image"
            raise UnsupportedFile(
                f"the content is not {kind} (it looks like {found or 'binary data'})")
    elif found != "text":
        raise UnsupportedFile(f"the content is not UTF-8 {expected} text")
    return served


def safe_filename(name: str, default: str = "attachment") -> str:
    """``name`` without folders and without characters outside letters, digits,
    ``.``, ``-``, ``_`` and spaces (at most 200 characters); ``default`` if nothing is
    left."""
    name = unicodedata.normalize("NFKC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = _FILENAME.sub("_", name).strip(" .")[:200]
    return name or default


def download_headers(filename: str) -> dict[str, str]:
    """Headers for serving a user's file as a download that the browser never renders
    as a page of the portal (nor sniffs into something else)."""
    return {
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    }
