"""The sandboxed Liquid environment of web templates (templates are untrusted input).

* Templates see only plain data (dicts, lists, strings, numbers, booleans).
* ``include`` / ``render`` read only from the website's template store (the database
  rows and the file defaults loaded into memory at start-up): no file system, no network.
* Loops, output size, local variables and context depth are bounded.
* ``{% entitylist "key" %}`` and ``{% entityform "key" %}`` render a list or a form
  through the request's provider (which goes through ``records``).
"""

from __future__ import annotations

import contextvars
import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from liquid import Environment
from liquid.ast import Node
from liquid.builtin.expressions import FilteredExpression
from liquid.exceptions import LiquidError, TemplateNotFoundError
from liquid.loader import BaseLoader, TemplateSource
from liquid.tag import Tag
from liquid.token import TOKEN_TAG

if TYPE_CHECKING:
    from liquid.context import RenderContext
    from liquid.expression import Expression
    from liquid.stream import TokenStream
    from liquid.template import BoundTemplate

__all__ = ["TEMPLATE_STORE", "PortalEnvironment", "Provider", "TemplateProblem",
           "problem_of", "use_provider", "use_store"]


class Provider(Protocol):
    async def entity_list(self, key: str) -> str: ...
    async def entity_form(self, key: str) -> str: ...


TEMPLATE_STORE: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "portalis_pages_store", default=None)
PROVIDER: contextvars.ContextVar[Provider | None] = contextvars.ContextVar(
    "portalis_pages_provider", default=None)


def use_store(store: dict[str, str]) -> contextvars.Token[dict[str, str] | None]:
    return TEMPLATE_STORE.set(store)


def use_provider(provider: Provider | None) -> contextvars.Token[Provider | None]:
    return PROVIDER.set(provider)


@dataclass(frozen=True)
class TemplateProblem:
    """What a maker is told about a broken template: where and what."""

    template: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "template"
        return f"{self.template}, {where}: {self.message}"


def problem_of(err: LiquidError, template: str) -> TemplateProblem:
    line = None
    try:
        ctx = err.context()
    except ValueError:
        ctx = None
    if ctx is not None:
        line = ctx[0]
    name = str(err.template_name or template)
    return TemplateProblem(name.rsplit("/", 1)[-1] or template, line, str(err.message))


class StoreLoader(BaseLoader):
    """Reads templates only from the current website's in-memory store."""

    def get_source(self, env: Any, template_name: str, *, context: Any = None,
                   **kwargs: object) -> TemplateSource:
        source = (TEMPLATE_STORE.get() or {}).get(template_name)
        if source is None:
            raise TemplateNotFoundError(f"no template {template_name!r} in this site's store",
                                        token=None)
        return TemplateSource(source, template_name, None)

    def load(self, env: Any, name: str, *, globals: Any = None, context: Any = None,
             **kwargs: object) -> BoundTemplate:
        source = self.get_source(env, name, context=context).text
        return env.parse_cached(source, name)

    async def load_async(self, env: Any, name: str, *, globals: Any = None,
                         context: Any = None, **kwargs: object) -> BoundTemplate:
        return self.load(env, name, globals=globals, context=context)


class _ProviderNode(Node):
    __slots__ = ("expression", "what")

    def __init__(self, token: Any, expression: Expression, what: str) -> None:
        super().__init__(token)
        self.expression = expression
        self.what = what
        self.blank = False

    def __str__(self) -> str:
        return f"{{% {self.what} {self.expression} %}}"

    def render_to_output(self, context: RenderContext, buffer: TextIO) -> int:
        return buffer.write(f"<!-- {self.what} needs the portal's page renderer -->")

    async def render_to_output_async(self, context: RenderContext, buffer: TextIO) -> int:
        key = await self.expression.evaluate_async(context)
        provider = PROVIDER.get()
        if provider is None or not isinstance(key, str):
            return buffer.write("")
        if self.what == "entitylist":
            html = await provider.entity_list(key)
        else:
            html = await provider.entity_form(key)
        return buffer.write(html)

    def expressions(self) -> Any:
        yield self.expression


class _ProviderTag(Tag):
    block = False
    node_class = _ProviderNode

    def parse(self, stream: TokenStream) -> Node:
        token = stream.eat(TOKEN_TAG)
        expr = FilteredExpression.parse(self.env, stream.into_inner(tag=token, eat=False))
        return _ProviderNode(token, expr, self.name)


class EntityListTag(_ProviderTag):
    name = "entitylist"


class EntityFormTag(_ProviderTag):
    name = "entityform"


class PortalEnvironment(Environment):
    """python-liquid with the portal's limits and tags; see the module docstring."""

    context_depth_limit = 20
    loop_iteration_limit = 20_000
    local_namespace_limit = 500_000
    output_stream_limit = 2_000_000

    def __init__(self) -> None:
        super().__init__(loader=StoreLoader(), autoescape=True)
        self._parsed: OrderedDict[str, BoundTemplate] = OrderedDict()

    def setup_tags_and_filters(self, *, extra: bool = False) -> None:
        super().setup_tags_and_filters(extra=False)
        self.add_tag(EntityListTag)
        self.add_tag(EntityFormTag)

    def parse_cached(self, source: str, name: str) -> BoundTemplate:
        """Parse (or reuse a parse of) ``source``; raises LiquidError on a syntax error."""
        digest = hashlib.sha256(f"{name}\0{source}".encode()).hexdigest()
        template = self._parsed.get(digest)
        if template is not None:
            self._parsed.move_to_end(digest)
            return template
        template = self.from_string(source, name=name, path=name)
        self._parsed[digest] = template
        if len(self._parsed) > 500:
            self._parsed.popitem(last=False)
        return template

    def check(self, source: str, name: str) -> TemplateProblem | None:
        """None if ``source`` parses; otherwise the line and message for the maker."""
        try:
            self.parse_cached(source, name)
        except LiquidError as err:
            return problem_of(err, name)
        return None
