"""Account lockout and sign-in throttling for portals.

Per-contact failure counters with a timed lock (Power Pages' ``Authentication/UserManager``
lockout settings) and a per-client-address throttle against password spraying, both
claimed atomically in the database before a secret is checked, so that any number of app
processes behave as one. Acts through the identity plugin's sign-in hooks.
"""

__all__: list[str] = []
