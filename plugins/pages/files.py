"""Validation of web-file uploads with the kernel's upload rules
(:mod:`portalis.core.uploads`: the type sniffed from the content must agree with the
declared content type and the file name; the size is limited), for the web files'
allowed types."""

from __future__ import annotations

from portalis.core.uploads import FileTooLarge, UnsupportedFile, sniff
from portalis.core.uploads import check_upload as check_file

__all__ = ["TYPES", "FileTooLarge", "UnsupportedFile", "check_upload", "sniff"]

# extension -> content type served
TYPES = {
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
    "webp": "image/webp", "ico": "image/x-icon", "css": "text/css",
    "js": "text/javascript",
}


def check_upload(path: str, declared: str | None, content: bytes, limit: int) -> str:
    """The content type to serve ``content`` with, or an error naming the problem."""
    return check_file(path, declared, content, limit, TYPES)
