"""Invitations plugin: invitation codes and redemption with email proof, duplicate-contact
detection on every contact create, and delegated contact management by user managers."""

__all__: list[str] = []
