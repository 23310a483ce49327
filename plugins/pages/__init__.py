"""Portal experience: web pages with access-control rules, Liquid web templates stored per
website, basic forms, web files and web link sets (Power Pages' portal building blocks)."""

__all__: list[str] = []
