"""The sandboxed prompt renderer: what a template may do, and the bounds that hold when it tries more."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from orchestration.engine.prompts import (
    MAX_INT_ARGUMENT,
    MAX_SOURCE_CHARS,
    MessageTemplate,
    PromptError,
    RenderLimits,
    compile_prompt,
    render_prompt,
)


def render(source: str, variables: dict[str, Any] | None = None, limits: RenderLimits | None = None, **kwargs) -> str:
    prompt = compile_prompt([MessageTemplate("user", source)], limits)
    return render_prompt(prompt, variables or {}, **kwargs)[0].content


def error(
    source: str, variables: dict[str, Any] | None = None, limits: RenderLimits | None = None, **kwargs
) -> PromptError:
    with pytest.raises(PromptError) as excinfo:
        render(source, variables, limits, **kwargs)
    return excinfo.value


def test_renders_messages_in_order_with_roles():
    prompt = compile_prompt(
        [MessageTemplate("system", "You answer for {{ company }}."), MessageTemplate("user", "{{ question }}")]
    )
    rendered = render_prompt(prompt, {"company": "Acme", "question": "Where is my order?"})
    assert [(m.role, m.content) for m in rendered] == [
        ("system", "You answer for Acme."),
        ("user", "Where is my order?"),
    ]
    assert prompt.variables == {"company", "question"}
    assert prompt.digest.startswith("sha256:")


def test_loops_conditions_and_safe_filters_work():
    source = (
        "{% for item in items if item.qty %}{{ loop.index }}. {{ item.name|title }} x{{ item.qty }}\n{% endfor %}"
        "{% if vip %}VIP{% else %}regular{% endif %} {{ tags|join(', ')|upper }} {{ note|default('none') }}"
        " {{ data|tojson }} {{ (items|map(attribute='qty')|sum) }}"
    )
    text = render(
        source,
        {
            "items": [{"name": "apple pie", "qty": 2}, {"name": "x", "qty": 0}, {"name": "tea", "qty": 1}],
            "vip": False,
            "tags": ["a", "b"],
            "note": None,
            "data": {"k": 1},
        },
    )
    assert text == '1. Apple Pie x2\n2. Tea x1\nregular A, B None {"k": 1} 3'


def test_the_digest_changes_with_the_source_only():
    a = compile_prompt([MessageTemplate("user", "Hi {{ name }}")])
    b = compile_prompt([MessageTemplate("user", "Hi {{ name }}")])
    c = compile_prompt([MessageTemplate("user", "Hello {{ name }}")])
    assert a.digest == b.digest != c.digest


def test_a_missing_variable_is_named():
    err = error("Dear {{ customer }}, about {{ order }}", {"customer": "Ann"})
    assert err.code == "prompt_variable_missing"
    assert err.message == "The prompt needs the variable order."
    assert err.detail == {"undefined": "order", "variables": ["customer", "order"], "given": ["customer"]}


def test_variables_with_a_fallback_are_optional():
    source = "{{ greeting|default('Hello') }} {{ name }}{% if title is defined %}, {{ title }}{% endif %}"
    assert render(source, {"name": "Ann"}) == "Hello Ann"
    assert render(source, {"name": "Ann", "greeting": "Hi", "title": "Dr"}) == "Hi Ann, Dr"


def test_a_missing_attribute_is_an_error_not_an_empty_string():
    err = error("Dear {{ customer.name }}", {"customer": {"nmae": "typo"}})
    assert err.code == "prompt_variable_missing"
    assert "name" in err.message


def test_syntax_errors_name_the_message_and_line():
    with pytest.raises(PromptError) as excinfo:
        compile_prompt([MessageTemplate("system", "ok"), MessageTemplate("user", "line one\n{% if x %}unclosed")])
    assert excinfo.value.code == "prompt_syntax"
    assert excinfo.value.detail["role"] == "user"
    assert "user message" in excinfo.value.message


@pytest.mark.parametrize(
    "source",
    [
        "{% macro m() %}x{% endmacro %}{{ m() }}",
        "{% include 'other' %}",
        "{% import 'x' as y %}",
        "{% extends 'base' %}",
        "{% for x in items recursive %}{{ loop(x) }}{% endfor %}",
        "{% call foo() %}x{% endcall %}",
        "{{ _arbiter_bounded_iter }}",
    ],
)
def test_structures_that_can_hide_unbounded_work_are_refused_at_compile_time(source):
    with pytest.raises(PromptError) as excinfo:
        compile_prompt([MessageTemplate("user", source)])
    assert excinfo.value.code == "prompt_forbidden"


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ name.upper() }}",
        "{{ name.ljust(1000000000) }}",
        "{{ '%999999999d' % 1 }}",
        "{{ lipsum(1000000) }}",
    ],
)
def test_private_attributes_methods_and_percent_formatting_are_refused(source):
    # lipsum is not a global here: a variable of that name is not callable either.
    assert error(source, {"name": "ann", "lipsum": "x"}).code == "prompt_forbidden"


@pytest.mark.parametrize("name", ["center", "format", "indent", "wordwrap", "random", "filesizeformat", "urlize"])
def test_filters_whose_cost_an_argument_controls_do_not_exist(name):
    with pytest.raises(PromptError) as excinfo:
        compile_prompt([MessageTemplate("user", f"{{{{ 'x'|{name}(9) }}}}")])
    assert excinfo.value.code == "prompt_syntax"
    assert f"No filter named '{name}'" in excinfo.value.message


def test_a_rendered_prompt_larger_than_its_bound_is_refused():
    limits = RenderLimits(max_rendered_chars=100)
    assert render("{{ text }}", {"text": "a" * 100}, limits) == "a" * 100
    err = error("{{ text }}!", {"text": "a" * 100}, limits)
    assert err.code == "prompt_too_large"


def test_doubling_loops_stop_at_the_size_bound_not_at_memory():
    source = "{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}x"
    assert error(source).code == "prompt_too_large"
    source = "{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}{% endfor %}x"
    assert error(source).code == "prompt_too_large"
    assert error("{{ 'ab' * 1000000000 }}").code == "prompt_too_large"
    assert error("{{ text|replace('', 'xxxxxxxxxx') }}", {"text": "a" * 100_000}).code == "prompt_too_large"


def test_nested_loops_stop_at_the_iteration_bound():
    source = "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}done"
    err = error(source, limits=RenderLimits(max_iterations=1000))
    assert err.code == "prompt_too_complex"
    assert render("{% for a in range(10) %}{% for b in range(10) %}.{% endfor %}{% endfor %}").count(".") == 100


def test_loops_over_caller_data_count_too():
    rows = list(range(3000))
    source = "{% for a in rows %}{% for b in rows %}{% endfor %}{% endfor %}"
    assert error(source, {"rows": rows}).code == "prompt_too_complex"


def test_the_render_deadline_is_enforced_with_the_injected_clock():
    ticks = itertools.count(0.0, 0.01)  # every look at the clock is 10 ms later
    source = "{% for a in range(5000) %}{{ a }}{% endfor %}"
    err = error(source, limits=RenderLimits(max_render_ms=50, max_iterations=100_000), clock=lambda: next(ticks))
    assert err.code == "prompt_too_complex"
    assert "too long" in err.message


def test_integer_arguments_are_bounded_but_values_are_not():
    assert render("{{ n|string }} {{ n * 2 }}", {"n": 10**12}) == f"{10**12} {2 * 10**12}"
    assert error(f"{{{{ range({MAX_INT_ARGUMENT + 1})|list }}}}").code == "prompt_forbidden"
    assert error("{{ items|batch(1000000000, 'x')|list }}", {"items": [1]}).code == "prompt_forbidden"
    assert error("{{ 2 ** 100000 }}").code == "prompt_forbidden"


@pytest.mark.parametrize(
    "variables",
    [
        {"x": float("nan")},
        {"x": object()},
        {"x": "a" * 300_000},
        {1: "non-string key"},
    ],
)
def test_variables_must_be_bounded_json(variables):
    err = error("hi", variables)
    assert err.code == "prompt_invalid_variables"


def test_deeply_nested_variables_are_refused():
    value: list[Any] = []
    for _ in range(40):
        value = [value]
    assert error("{{ x }}", {"x": value}).code == "prompt_invalid_variables"


def test_source_size_and_message_count_are_bounded():
    with pytest.raises(PromptError) as excinfo:
        compile_prompt([MessageTemplate("user", "a" * (MAX_SOURCE_CHARS + 1))])
    assert excinfo.value.code == "prompt_too_large"
    with pytest.raises(PromptError):
        compile_prompt([MessageTemplate("user", "a")] * 21)
    with pytest.raises(PromptError):
        compile_prompt([MessageTemplate("tool", "a")])
    with pytest.raises(PromptError):
        compile_prompt([])


def test_deep_expression_nesting_is_a_clear_error():
    source = "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}"
    with pytest.raises(PromptError) as excinfo:
        compile_prompt([MessageTemplate("user", source)])
    assert excinfo.value.code in {"prompt_syntax", "prompt_too_complex"}


def test_lone_surrogates_and_unicode_render_as_given():
    assert render("{{ a }}|{{ b }}", {"a": "\ud800", "b": "日本語 🎉"}) == "\ud800|日本語 🎉"


def test_limits_validate():
    with pytest.raises(ValueError, match="max_rendered_chars"):
        RenderLimits(max_rendered_chars=0)
    with pytest.raises(ValueError, match="max_iterations"):
        RenderLimits(max_iterations=10**9)
    with pytest.raises(ValueError, match="max_render_ms"):
        RenderLimits(max_render_ms=0)
