"""Renders Pebble templates with Kestra's semantics in a sandboxed Jinja2 environment.

A template is translated once (``translate.py``), compiled once per Renderer (an LRU keyed by
the source) and run in an ``ImmutableSandboxedEnvironment`` with no loader, no Jinja filters,
tests or globals, and only Weir's helpers in scope. Context variables are exposed under
``v_<name>`` so that a template can reach nothing but what the caller passed in.

Functions the engine injects (``secret``, ``kv``, ``read``...) are plain callables; one
decorated with :func:`needs_context` receives the render context mapping as its first
positional argument, before the template's arguments. Named arguments in the template
(``kv('k', namespace='x')``) arrive as keyword arguments.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from jinja2 import TemplateError, Undefined
from jinja2.environment import Template, TemplateExpression
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from controlplane.expr.budget import MAX_SECONDS, MAX_STEPS, budget
from controlplane.expr.emit import VAR_PREFIX
from controlplane.expr.errors import ExpressionError, ExpressionSyntaxError, SandboxViolation
from controlplane.expr.filters_data import DATA_FILTERS
from controlplane.expr.filters_date import DATE_FILTERS
from controlplane.expr.filters_text import TEXT_FILTERS
from controlplane.expr.functions import PURE_FUNCTIONS
from controlplane.expr.predicates import PREDICATES
from controlplane.expr.runtime import CONTEXT_KEY, Runtime, needs_context
from controlplane.expr.syntax import has_expression
from controlplane.expr.translate import translate
from controlplane.expr.undefined import WeirUndefined
from controlplane.expr.values import to_json, to_text

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")
_CACHE_SIZE = 2048
_MAX_RENDER_ROUNDS = 10
_TEMPLATE_FILE = "<template>"


class _LRU(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K, build: Callable[[K], V]) -> V:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
            return item
        item = build(key)
        self._items[key] = item
        if len(self._items) > self._size:
            self._items.popitem(last=False)
        return item


class Renderer:
    """Renders Pebble templates; holds the compiled-template cache and the function table."""

    def __init__(
        self,
        functions: Mapping[str, Callable[..., Any]] | None = None,
        filters: Mapping[str, Callable[..., Any]] | None = None,
        max_output: int = 10_000_000,
        max_steps: int = MAX_STEPS,
        max_seconds: float = MAX_SECONDS,
    ) -> None:
        self.max_output = max_output
        self.max_steps = max_steps
        self.max_seconds = max_seconds
        all_functions = {**PURE_FUNCTIONS, **self._context_functions(), **(functions or {})}
        all_filters = {**TEXT_FILTERS, **DATA_FILTERS, **DATE_FILTERS, **(filters or {})}
        runtime = Runtime(all_functions, all_filters, PREDICATES, max_output)
        self._env = ImmutableSandboxedEnvironment(
            autoescape=False,
            undefined=WeirUndefined,
            finalize=to_text,
            keep_trailing_newline=True,
            cache_size=0,
            auto_reload=False,
        )
        self._env.filters.clear()
        self._env.tests.clear()
        self._env.globals.clear()
        self._env.globals.update(runtime.globals())
        self._templates: _LRU[str, Template] = _LRU(_CACHE_SIZE)
        self._expressions: _LRU[str, TemplateExpression] = _LRU(_CACHE_SIZE)

    # -- public API ---------------------------------------------------------------------------

    def render(self, template: str, context: Mapping[str, Any]) -> str:
        """Render to text with Pebble semantics; text without expressions comes back as is."""
        if not has_expression(template) and "{#" not in template:
            return template
        compiled = self._run(template, lambda: self._templates.get(template, self._compile))
        variables = _variables(context)
        with budget(self.max_steps, self.max_seconds):
            return self._run(template, lambda: self._generate(compiled, variables))

    def render_typed(self, template: str, context: Mapping[str, Any]) -> Any:
        """The value itself when the template is exactly one ``{{ expr }}``, else ``render``."""
        if not has_expression(template):
            return template
        source = translate(template).single_expression
        if source is None:
            return self.render(template, context)
        expression = self._run(template, lambda: self._expressions.get(source, self._compile_expr))
        variables = _variables(context)
        with budget(self.max_steps, self.max_seconds):
            return self._run(template, lambda: _defined(expression(**variables)))

    def render_value(self, value: Any, context: Mapping[str, Any], typed: bool = False) -> Any:
        """Render every string inside dicts (keys too) and lists."""
        if isinstance(value, str):
            return self.render_typed(value, context) if typed else self.render(value, context)
        if isinstance(value, Mapping):
            return {
                self.render(k, context) if isinstance(k, str) else k: self.render_value(
                    v, context, typed
                )
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.render_value(item, context, typed) for item in value]
        return value

    def evaluate(self, expression: str, context: Mapping[str, Any]) -> Any:
        """A condition's value: ``"{{ x == 1 }}"`` or the bare expression ``"x == 1"``."""
        source = expression if has_expression(expression) else "{{ " + expression + " }}"
        return self.render_typed(source, context)

    # -- internals ----------------------------------------------------------------------------

    def _compile(self, template: str) -> Template:
        return self._env.from_string(translate(template).jinja)

    def _compile_expr(self, source: str) -> TemplateExpression:
        return self._env.compile_expression(source, undefined_to_none=False)

    def _generate(self, compiled: Template, variables: dict[str, Any]) -> str:
        chunks: list[str] = []
        size = 0
        for chunk in compiled.generate(variables):
            size += len(chunk)
            if size > self.max_output:
                raise SandboxViolation(f"output longer than the {self.max_output} character limit")
            chunks.append(chunk)
        return "".join(chunks)

    def _run(self, template: str, action: Callable[[], T]) -> T:
        try:
            return action()
        except ExpressionError as exc:
            exc.template = exc.template if exc.template is not None else template
            exc.line = exc.line if exc.line is not None else _template_line(exc)
            raise
        except SecurityError as exc:
            raise SandboxViolation(str(exc), template, _template_line(exc)) from None
        except RecursionError:
            raise SandboxViolation("recursion too deep", template) from None
        except TemplateError as exc:  # Jinja rejected the translation: a Weir bug or a limit
            line = getattr(exc, "lineno", None)
            raise ExpressionSyntaxError(str(exc), template, line) from exc
        except (TypeError, ValueError, LookupError, ArithmeticError) as exc:
            raise ExpressionError(f"cannot render: {exc}", template, _template_line(exc)) from exc

    def _context_functions(self) -> dict[str, Callable[..., Any]]:
        @needs_context
        def render(context: Mapping[str, Any], value: Any, recursive: bool = True) -> Any:
            if not isinstance(value, str):
                return value
            for _ in range(_MAX_RENDER_ROUNDS):
                rendered = self.render(value, context)
                if not recursive or rendered == value or not has_expression(rendered):
                    return rendered
                value = rendered
            raise ExpressionError(
                f"render() still had expressions after {_MAX_RENDER_ROUNDS} rounds"
            )

        @needs_context
        def render_once(context: Mapping[str, Any], value: Any) -> Any:
            return render(context, value, recursive=False)

        @needs_context
        def print_context(context: Mapping[str, Any]) -> str:
            return to_json(dict(context))

        return {
            "render": render,
            "renderOnce": render_once,
            "printContext": print_context,
            "fetchContext": print_context,
        }


def _variables(context: Mapping[str, Any]) -> dict[str, Any]:
    variables = {VAR_PREFIX + key: value for key, value in context.items() if isinstance(key, str)}
    variables[CONTEXT_KEY] = context
    return variables


def _defined(value: Any) -> Any:
    if isinstance(value, Undefined):
        str(value)  # raises the undefined-variable error
    return value


def _template_line(exc: BaseException) -> int | None:
    """The template line Jinja's rewritten traceback points at, if any."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == _TEMPLATE_FILE:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
