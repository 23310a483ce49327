"""Tests for portalis.plugins.domains: DNS verification, certificates, proxy configs."""

__all__ = []
