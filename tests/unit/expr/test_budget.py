"""Rendering has a budget of steps and time, and whoever started it can stop it."""

from __future__ import annotations

import threading

import pytest

from controlplane.expr import Renderer, SandboxViolation
from controlplane.expr.budget import RenderingStopped, interruptible

NESTED = "{% for i in 0..9999 %}{% for j in 0..9999 %}{% endfor %}{% endfor %}done"


def test_a_runaway_loop_runs_out_of_steps() -> None:
    renderer = Renderer(max_steps=50_000, max_seconds=3600)
    with pytest.raises(SandboxViolation, match="more than 50,000 steps, its budget"):
        renderer.render(NESTED, {})


def test_a_runaway_loop_runs_out_of_time() -> None:
    renderer = Renderer(max_steps=10**12, max_seconds=0.05)
    with pytest.raises(SandboxViolation, match=r"more than 0.05s, its budget"):
        renderer.render(NESTED, {})


def test_a_stop_interrupts_the_rendering_it_was_set_for() -> None:
    stop = threading.Event()

    def stop_now() -> str:
        stop.set()  # as a kill arriving while the loop runs
        return ""

    renderer = Renderer(functions={"stop_now": stop_now}, max_steps=10**12, max_seconds=3600)
    with interruptible(stop.is_set), pytest.raises(RenderingStopped, match="was stopped"):
        renderer.render("{{ stop_now() }}" + NESTED, {})


def test_ordinary_templates_fit_in_the_budget() -> None:
    renderer = Renderer()
    rendered = renderer.render("{% for i in 0..999 %}{{ i * 2 }},{% endfor %}", {})
    assert rendered.endswith("1998,")
    assert renderer.render_typed("{{ [1, 2, 3] | length }}", {}) == 3
