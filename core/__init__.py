"""Portalis kernel: the public names plugins and deployments may rely on."""

from __future__ import annotations

from portalis.core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    PortalisError,
)
from portalis.core.hookspecs import hookimpl
from portalis.core.principal import Principal
from portalis.core.registry import TableSpec
from portalis.core.uploads import FileTooLarge, UnsupportedFile

__all__ = [
    "Conflict",
    "FileTooLarge",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "PortalisError",
    "Principal",
    "TableSpec",
    "UnsupportedFile",
    "hookimpl",
]
