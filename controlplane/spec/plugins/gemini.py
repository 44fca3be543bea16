"""Google Gemini's own plugin (``io.kestra.plugin.gemini.*``): completions of Gemini's
``generateContent`` with an ``apiKey`` and a ``model``."""

from __future__ import annotations

from controlplane.spec.fields import DynStrList, Text
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec


class _Gemini(TaskSpec):
    apiKey: Text
    model: Text


@task("io.kestra.plugin.gemini.ChatCompletion")
class GeminiChatCompletion(_Gemini):
    """A multi-turn chat: each text of ``messages`` is sent after the answers to those before.
    Output ``predictions``: one ``{content, safetyRatings, citationMetadata}`` per answer."""

    messages: DynStrList


@task("io.kestra.plugin.gemini.TextCompletion")
class GeminiTextCompletion(_Gemini):
    """``prompt`` answered. Output ``predictions``: ``{content, safetyRatings,
    citationMetadata}``."""

    prompt: Text


@task("io.kestra.plugin.gemini.StructuredOutputCompletion")
class GeminiStructuredOutputCompletion(_Gemini):
    """``prompt`` answered as JSON following ``jsonResponseSchema`` (a JSON text). Output
    ``predictions``: the answer's texts."""

    prompt: Text
    jsonResponseSchema: Text
