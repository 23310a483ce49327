"""The kernel's HTTP layer (Litestar): app factory, request flow, lists, Web API."""
