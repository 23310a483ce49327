"""Customer self-service sample plugin: cases, case notes and knowledge articles."""

__all__: list[str] = []
