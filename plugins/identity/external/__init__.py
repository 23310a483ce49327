"""External sign-in for the identity plugin: OpenID Connect and SAML 2.0 providers per
website, and the mapping of external identities (issuer + subject) to contacts.

Routes in :mod:`.routes`, provider settings in :mod:`.providers`, identity → contact in
:mod:`.linking`, the private tables in :mod:`.tables` (own Piccolo app
``portalis_identity_external``), reached only through :mod:`.store`.
"""

__all__: list[str] = []
