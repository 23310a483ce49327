"""Custom domains for portals: DNS ownership checks, TLS certificate checks, proxy configs.

``verify`` proves a maker controls a domain (CNAME or TXT token), ``certs`` checks an
uploaded certificate before it is served, ``proxyconf`` renders Caddy/nginx site configs.
The modules are framework-independent; the app's hooks call into them.
"""

__all__ = []
