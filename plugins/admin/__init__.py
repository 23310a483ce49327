"""Maker UI: Piccolo Admin for staff at ``/admin``, behind its own login."""

__all__: list[str] = []
