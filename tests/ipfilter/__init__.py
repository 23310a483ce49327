"""Tests for portalis.plugins.ipfilter: client addresses behind proxies, allow/deny rules."""

__all__ = []
