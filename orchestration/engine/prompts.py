"""Prompt templates: one syntax (Jinja2's sandbox), bounded in size, time and work.

A prompt version is a list of message templates (``role`` + Jinja2 source). It is compiled
once (``compile_prompt``, cached by the caller) and rendered per call with the caller's
variables (``render_prompt``). Templates are written in the admin by policy editors and
filled with whatever a caller sends, so a render must never hang a worker or eat its memory:

* the environment is Jinja2's ``SandboxedEnvironment`` with ``StrictUndefined`` (a missing
  variable is an error naming it, never an empty string in a prompt);
* only plain expressions, ``if``, ``for`` and ``set`` are allowed: no macros, call blocks,
  includes, imports or recursive loops (checked on the parsed template, at save time);
* only data filters are available (no ``format``, ``center``, ``indent``, ``wordwrap``,
  ``random``, ...): those whose cost or output size an argument controls are left out, and
  the kept ones refuse integer arguments above ``MAX_INT_ARGUMENT``;
* calls are limited to ``range`` (bounded), ``namespace``, ``dict``, ``cycler``, ``joiner``
  and the loop helpers; methods of values (``"a".ljust(10**9)``) are refused;
* every ``for`` loop counts its iterations against ``max_iterations`` for the whole render,
  every concatenation, ``+``, ``*`` and filter result is held to the rendered-size bound,
  and the render stops at its deadline (checked at every iteration, filter and output chunk).

Nothing here imports Django: the model and the service call it with plain values.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, cast

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS
from jinja2.runtime import LoopContext
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import Cycler, Joiner, Namespace
from jinja2.visitor import NodeTransformer

ROLES = ("system", "user", "assistant")

MAX_SOURCE_CHARS = 32_000
"""Total template source of one prompt version (all its messages)."""
MAX_MESSAGES = 20
DEFAULT_MAX_RENDERED_CHARS = 32_000
HARD_MAX_RENDERED_CHARS = 200_000
DEFAULT_MAX_ITERATIONS = 5_000
HARD_MAX_ITERATIONS = 100_000
DEFAULT_MAX_RENDER_MS = 100.0
HARD_MAX_RENDER_MS = 2_000.0
MAX_INT_ARGUMENT = 10_000
"""Largest integer a filter or ``range`` accepts (widths, counts, batch sizes)."""
MAX_VARIABLES_CHARS = 256_000
"""Size of the caller's variables as compact JSON."""
MAX_VARIABLES_DEPTH = 32

_ITER = "_arbiter_bounded_iter"
_UNDEFINED_NAME = re.compile(r"'([^']{1,200})' is undefined")
_CONCAT = "_arbiter_bounded_concat"

# Filters whose output size and cost are bounded by their input (plus bounded int arguments).
SAFE_FILTERS = (
    "abs", "batch", "capitalize", "count", "d", "default", "dictsort", "first", "float", "groupby",
    "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min", "reject",
    "rejectattr", "replace", "reverse", "round", "select", "selectattr", "slice", "sort", "string",
    "striptags", "sum", "title", "tojson", "trim", "truncate", "unique", "upper", "wordcount",
)  # fmt: skip

_FORBIDDEN_NODES: tuple[tuple[type[nodes.Node], str], ...] = (
    (nodes.Macro, "macros"),
    (nodes.CallBlock, "call blocks"),
    (nodes.Include, "includes"),
    (nodes.Import, "imports"),
    (nodes.FromImport, "imports"),
    (nodes.Extends, "template inheritance"),
    (nodes.Block, "blocks"),
)


class PromptError(Exception):
    """A prompt that cannot be compiled or rendered. ``code`` is stable (API and envelopes):

    ``prompt_syntax``, ``prompt_forbidden``, ``prompt_too_large`` (source or rendered size),
    ``prompt_too_complex`` (iterations or render time), ``prompt_variable_missing``,
    ``prompt_invalid_variables``, ``prompt_render_failed``.
    """

    def __init__(self, code: str, message: str, *, detail: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = dict(detail or {})


@dataclass(frozen=True, slots=True)
class RenderLimits:
    """Per-version bounds, validated against the hard maxima."""

    max_rendered_chars: int = DEFAULT_MAX_RENDERED_CHARS
    max_iterations: int = DEFAULT_MAX_ITERATIONS
    max_render_ms: float = DEFAULT_MAX_RENDER_MS

    def __post_init__(self) -> None:
        if not 1 <= self.max_rendered_chars <= HARD_MAX_RENDERED_CHARS:
            raise ValueError(f"max_rendered_chars must be between 1 and {HARD_MAX_RENDERED_CHARS}")
        if not 1 <= self.max_iterations <= HARD_MAX_ITERATIONS:
            raise ValueError(f"max_iterations must be between 1 and {HARD_MAX_ITERATIONS}")
        if not 0 < self.max_render_ms <= HARD_MAX_RENDER_MS:
            raise ValueError(f"max_render_ms must be in (0, {HARD_MAX_RENDER_MS}]")


@dataclass(frozen=True, slots=True)
class MessageTemplate:
    role: str
    source: str


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    role: str
    content: str


@dataclass(frozen=True)
class CompiledPrompt:
    """A prompt version ready to render. ``variables`` are the names it reads from the caller."""

    messages: tuple[MessageTemplate, ...]
    variables: frozenset[str]
    limits: RenderLimits
    digest: str
    _templates: tuple[Any, ...] = field(repr=False, compare=False)


@dataclass
class _Budget:
    deadline: float
    iterations_left: int
    max_chars: int
    clock: Callable[[], float]

    def tick(self) -> None:
        if self.clock() > self.deadline:
            raise PromptError("prompt_too_complex", "The prompt took too long to render.")


_budget: ContextVar[_Budget | None] = ContextVar("arbiter_prompt_budget", default=None)


def _current_budget() -> _Budget:
    budget = _budget.get()
    if budget is None:  # only reachable by rendering outside render_prompt
        raise PromptError("prompt_render_failed", "Prompt templates render only through render_prompt().")
    return budget


def _check_size(value: Any) -> Any:
    if isinstance(value, (str, list, tuple)):
        budget = _current_budget()
        if len(value) > budget.max_chars:
            raise PromptError(
                "prompt_too_large",
                f"A value in the prompt grew past {budget.max_chars} characters.",
                detail={"max_chars": budget.max_chars},
            )
    return value


def _bounded_iter(iterable: Any) -> Iterator[Any]:
    budget = _current_budget()
    budget.tick()
    for item in iterable:
        budget.iterations_left -= 1
        if budget.iterations_left < 0:
            raise PromptError("prompt_too_complex", "The prompt's loops ran too many iterations.")
        if budget.iterations_left % 64 == 0:
            budget.tick()
        yield item


def _bounded_concat(*parts: Any) -> str:
    _current_budget().tick()
    joined = "".join(str(p) for p in parts)
    _check_size(joined)
    return joined


def _check_int_arguments(name: str, args: Iterable[Any]) -> None:
    for arg in args:
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > MAX_INT_ARGUMENT:
            raise PromptError(
                "prompt_forbidden", f"{name}() accepts numbers up to {MAX_INT_ARGUMENT}; got {arg}.", detail={}
            )


def _bounded_range(*args: Any) -> range:
    _check_int_arguments("range", args)
    return range(*args)


def _wrap_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    # Filters marked pass_environment/pass_eval_context/pass_context get that object first.
    offset = 1 if hasattr(fn, "jinja_pass_arg") else 0

    def bounded(*args: Any, **kwargs: Any) -> Any:
        _current_budget().tick()
        # The filtered value itself may be any number; only the arguments are bounded.
        _check_int_arguments(name, [*args[offset + 1 :], *kwargs.values()])
        if name == "replace" and len(args) >= offset + 3:
            # replace("", "xxxx") inserts between every character: check the worst case first.
            value, old, new = (str(a) for a in args[offset : offset + 3])
            if len(new) > len(old):
                worst = len(value) + (len(value) // max(1, len(old)) + 1) * len(new)
                if worst > _current_budget().max_chars:
                    raise PromptError("prompt_too_large", "replace() could grow the text past the prompt's bound.")
        return _check_size(fn(*args, **kwargs))

    if offset:
        bounded.jinja_pass_arg = fn.jinja_pass_arg  # type: ignore[attr-defined]
    bounded.__name__ = fn.__name__
    return bounded


_ALLOWED_CALLABLES: frozenset[Any] = frozenset({_bounded_iter, _bounded_concat, _bounded_range, Namespace, dict})


class _PromptEnvironment(SandboxedEnvironment):
    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def is_safe_callable(self, obj: Any) -> bool:
        if obj in _ALLOWED_CALLABLES or isinstance(obj, (Cycler, Joiner)):
            return True
        owner = getattr(obj, "__self__", None)
        # loop.cycle(...), loop.changed(...); cycler.next() / joiner()
        return isinstance(owner, (LoopContext, Cycler, Joiner))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if not __self.is_safe_callable(__obj):
            name = getattr(__obj, "__name__", type(__obj).__name__)
            raise PromptError("prompt_forbidden", f"Calling {name!r} is not allowed in a prompt template.")
        return _check_size(__context.call(__obj, *args, **kwargs))

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        budget = _current_budget()
        if operator == "%" and isinstance(left, str):
            raise PromptError("prompt_forbidden", "'%' string formatting is not allowed; use ~ or filters.")
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > 64:
            raise PromptError("prompt_forbidden", "Exponents above 64 are not allowed in a prompt template.")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                sized = isinstance(seq, (str, list, tuple)) and isinstance(times, int)
                if sized and len(seq) * max(0, times) > budget.max_chars:
                    raise PromptError("prompt_too_large", "A repetition would grow past the prompt's bound.")
        return _check_size(self.binop_table[operator](left, right))


class _Bounder(NodeTransformer):
    """Routes every loop's iterable and every ``~`` concatenation through the render budget."""

    def __init__(self, environment: SandboxedEnvironment) -> None:
        self.environment = environment

    def _call(self, name: str, args: list[nodes.Expr], lineno: int) -> nodes.Call:
        call = nodes.Call(nodes.Name(name, "load"), args, [], None, None)
        call.set_lineno(lineno)
        call.set_environment(self.environment)
        return call

    def visit_For(self, node: nodes.For) -> nodes.Node:
        visited = cast(nodes.For, self.generic_visit(node))
        visited.iter = self._call(_ITER, [cast(nodes.Expr, visited.iter)], visited.lineno)
        return visited

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        visited = cast(nodes.Concat, self.generic_visit(node))
        return self._call(_CONCAT, list(visited.nodes), visited.lineno)


def _make_environment() -> _PromptEnvironment:
    env = _PromptEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters = {name: _wrap_filter(name, FILTERS[name]) for name in SAFE_FILTERS}
    env.globals = {
        "range": _bounded_range,
        "namespace": Namespace,
        "dict": dict,
        "cycler": Cycler,
        "joiner": Joiner,
        _ITER: _bounded_iter,
        _CONCAT: _bounded_concat,
    }
    return env


ENVIRONMENT = _make_environment()


def _static_check(ast: nodes.Template, role: str) -> None:
    for node_type, what in _FORBIDDEN_NODES:
        found = next(ast.find_all(node_type), None)
        if found is not None:
            raise PromptError(
                "prompt_forbidden",
                f"{role} message, line {found.lineno}: {what} are not allowed in prompt templates.",
                detail={"role": role, "line": found.lineno},
            )
    for loop in ast.find_all(nodes.For):
        if loop.recursive:
            raise PromptError(
                "prompt_forbidden",
                f"{role} message, line {loop.lineno}: recursive loops are not allowed.",
                detail={"role": role, "line": loop.lineno},
            )
    for name in ast.find_all(nodes.Name):
        if name.name.startswith("_arbiter"):
            raise PromptError("prompt_forbidden", f"{role} message: the name {name.name!r} is reserved.")


def _digest(messages: Sequence[MessageTemplate]) -> str:
    encoded = json.dumps([[m.role, m.source] for m in messages], ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(encoded.encode("utf-8", "surrogatepass")).hexdigest()


def compile_prompt(messages: Sequence[MessageTemplate], limits: RenderLimits | None = None) -> CompiledPrompt:
    """Parse, check and compile a prompt version; raises ``PromptError`` with the line at fault."""
    messages = tuple(messages)
    if not messages:
        raise PromptError("prompt_syntax", "A prompt needs at least one message.")
    if len(messages) > MAX_MESSAGES:
        raise PromptError("prompt_too_large", f"A prompt has at most {MAX_MESSAGES} messages.")
    total = sum(len(m.source) for m in messages)
    if total > MAX_SOURCE_CHARS:
        raise PromptError(
            "prompt_too_large",
            f"The prompt's templates are {total} characters; at most {MAX_SOURCE_CHARS} are allowed.",
            detail={"chars": total, "max_chars": MAX_SOURCE_CHARS},
        )
    templates = []
    variables: set[str] = set()
    for message in messages:
        if message.role not in ROLES:
            raise PromptError("prompt_syntax", f"Unknown message role {message.role!r}; use one of {', '.join(ROLES)}.")
        if "\x00" in message.source:
            raise PromptError("prompt_syntax", f"{message.role} message: NUL characters are not allowed.")
        try:
            ast = ENVIRONMENT.parse(message.source)
            _static_check(ast, message.role)
            # Also compiles: an unknown filter (``|center``) is reported here, with its line.
            variables |= meta.find_undeclared_variables(ast) - set(ENVIRONMENT.globals)
            templates.append(ENVIRONMENT.from_string(_Bounder(ENVIRONMENT).visit(ast)))
        except TemplateSyntaxError as exc:
            raise PromptError(
                "prompt_syntax",
                f"{message.role} message, line {exc.lineno}: {exc.message}",
                detail={"role": message.role, "line": exc.lineno},
            ) from exc
        except RecursionError as exc:
            raise PromptError("prompt_syntax", f"{message.role} message: the template nests too deeply.") from exc
    return CompiledPrompt(
        messages=messages,
        variables=frozenset(variables),
        limits=limits or RenderLimits(),
        digest=_digest(messages),
        _templates=tuple(templates),
    )


def _check_variables(variables: Mapping[str, Any]) -> None:
    if not isinstance(variables, Mapping) or not all(isinstance(k, str) for k in variables):
        raise PromptError("prompt_invalid_variables", "Prompt variables must be an object with string keys.")

    def depth(value: Any, level: int) -> None:
        if level > MAX_VARIABLES_DEPTH:
            raise PromptError("prompt_invalid_variables", f"Prompt variables nest deeper than {MAX_VARIABLES_DEPTH}.")
        if isinstance(value, Mapping):
            for item in value.values():
                depth(item, level + 1)
        elif isinstance(value, (list, tuple)):
            for item in value:
                depth(item, level + 1)
        elif isinstance(value, float) and not math.isfinite(value):
            raise PromptError("prompt_invalid_variables", "Prompt variables cannot hold NaN or infinity.")
        elif value is not None and not isinstance(value, (str, int, float, bool)):
            raise PromptError("prompt_invalid_variables", f"Prompt variables must be JSON; got {type(value).__name__}.")

    depth(variables, 0)
    size = len(json.dumps(variables, ensure_ascii=False, separators=(",", ":")))
    if size > MAX_VARIABLES_CHARS:
        raise PromptError(
            "prompt_invalid_variables",
            f"Prompt variables are {size} characters of JSON; at most {MAX_VARIABLES_CHARS} are allowed.",
        )


def render_prompt(
    prompt: CompiledPrompt, variables: Mapping[str, Any], *, clock: Callable[[], float] = time.monotonic
) -> tuple[RenderedMessage, ...]:
    """Render every message of ``prompt`` with ``variables``; raises ``PromptError``.

    Variables must be JSON values (what an API caller can send). A variable the template reads
    without a fallback (``|default(...)``, ``is defined``) but the caller did not give is
    reported by name (``prompt_variable_missing``).
    """
    _check_variables(variables)
    limits = prompt.limits
    budget = _Budget(
        deadline=clock() + limits.max_render_ms / 1000.0,
        iterations_left=limits.max_iterations,
        # Intermediate values may be as large as the variables (a list to join, a text to truncate);
        # the bound is there to stop doubling loops, the rendered size is checked separately.
        max_chars=max(limits.max_rendered_chars, MAX_VARIABLES_CHARS),
        clock=clock,
    )
    token = _budget.set(budget)
    try:
        rendered: list[RenderedMessage] = []
        total = 0
        for message, template in zip(prompt.messages, prompt._templates, strict=True):
            parts: list[str] = []
            for chunk in template.generate(**variables):
                total += len(chunk)
                if total > limits.max_rendered_chars:
                    raise PromptError(
                        "prompt_too_large",
                        f"The rendered prompt is longer than {limits.max_rendered_chars} characters.",
                        detail={"max_chars": limits.max_rendered_chars},
                    )
                budget.tick()
                parts.append(chunk)
            rendered.append(RenderedMessage(message.role, "".join(parts)))
        return tuple(rendered)
    except PromptError:
        raise
    except UndefinedError as exc:
        # StrictUndefined: a variable, attribute or key the caller did not give (``{{ user.nmae }}``).
        match = _UNDEFINED_NAME.search(exc.message or "")
        missing = match.group(1) if match else ""
        raise PromptError(
            "prompt_variable_missing",
            f"The prompt needs the variable {missing}."
            if missing and missing not in variables and missing in prompt.variables
            else f"Prompt variable error: {exc.message}",
            detail={"undefined": missing, "variables": sorted(prompt.variables), "given": sorted(variables)},
        ) from exc
    except SecurityError as exc:
        raise PromptError("prompt_forbidden", f"Not allowed in a prompt template: {exc}") from exc
    except RecursionError as exc:
        raise PromptError("prompt_too_complex", "The prompt nests too deeply to render.") from exc
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        raise PromptError("prompt_render_failed", f"The prompt failed to render: {type(exc).__name__}: {exc}") from exc
    finally:
        _budget.reset(token)
