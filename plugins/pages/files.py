"""Validation of web-file uploads: the type is sniffed from the content and must agree
with the declared content type and the file name; the size is limited."""

from __future__ import annotations

from portalis.core import InvalidInput, PortalisError

__all__ = ["TYPES", "FileTooLarge", "UnsupportedFile", "check_upload", "sniff"]

# extension -> content type served
TYPES = {
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
    "webp": "image/webp", "ico": "image/x-icon", "css": "text/css",
    "js": "text/javascript",
}
DECLARED_ALIASES = {
    "image/jpg": "image/jpeg", "image/vnd.microsoft.icon": "image/x-icon",
    "application/javascript": "text/javascript", "application/x-javascript": "text/javascript",
}


class FileTooLarge(PortalisError):
    status = 413
    code = "file_too_large"


class UnsupportedFile(PortalisError):
    status = 415
    code = "unsupported_file"


def sniff(content: bytes) -> str | None:
    """The image type of ``content``, ``"text"`` for UTF-8 text, or None."""
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
    if b"\x00" in content:
        return None
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    head = text.lstrip()[:200].lower()
    if head.startswith(("<!doctype", "<html", "<script", "<svg", "<?xml")):
        return None  # markup served as a stylesheet or script is refused
    return "text"


def _base(content_type: str | None) -> str:
    base = (content_type or "").split(";")[0].strip().lower()
    return DECLARED_ALIASES.get(base, base)


def check_upload(path: str, declared: str | None, content: bytes, limit: int) -> str:
    """The content type to serve ``content`` with, or an error naming the problem."""
    if len(content) > limit:
        raise FileTooLarge(f"the file is larger than the limit of {limit} bytes",
                           limit=limit)
    if not content:
        raise InvalidInput("the file is empty", code="empty_file")
    name = path.rsplit("/", 1)[-1]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    served = TYPES.get(ext)
    if not path.strip("/") or served is None:
        raise UnsupportedFile(
            f"file name {name!r} must end in one of: {', '.join(sorted(TYPES))}")
    expected = _base(served)
    if declared and _base(declared) not in (expected, "application/octet-stream"):
        raise UnsupportedFile(
            f"the declared type {_base(declared)} does not match the file name ({expected})")
    found = sniff(content)
    if expected.startswith("image/"):
        if found != expected:
            raise UnsupportedFile(
                f"the content is not a {expected} image "
                f"(it looks like {found or 'binary data'})")
    elif found != "text":
        raise UnsupportedFile(f"the content is not UTF-8 {expected} text")
    return served
