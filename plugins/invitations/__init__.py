"""Portalis."""
