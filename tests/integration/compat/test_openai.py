"""openai.ChatCompletion against a local double of OpenAI's Chat Completions API, on the shape
of kestra-io/blueprints' PR-review flow (system and user messages, maxTokens, the reply used
by the next task)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controlplane.engine.model import State
from tests.doubles.openai import API_KEY, OpenAIDouble
from tests.integration.compat.conftest import Flows


@pytest.fixture
def openai(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIDouble]:
    with OpenAIDouble() as double:
        monkeypatch.setenv("OPENAI_BASE_URL", double.base_url)
        yield double


REVIEW = """
id: ai-pr-review
namespace: company.team
inputs:
  - id: diff
    type: STRING
    defaults: "+ print('hello')"
tasks:
  - id: generate_review
    type: io.kestra.plugin.openai.ChatCompletion
    apiKey: "{{ secret('OPENAI_API_KEY') }}"
    model: gpt-4o
    maxTokens: 2000
    messages:
      - role: system
        content: You are a senior software engineer performing a thorough code review.
      - role: user
        content: "Review this diff: {{ inputs.diff }}"
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: "{{ outputs.generate_review.choices[0].message.content }}"
"""


def test_chat_completion_sends_the_messages_and_gives_the_reply(
    flows: Flows, openai: OpenAIDouble
) -> None:
    openai.replies = ["Looks good; add a test."]
    with flows.store.unit() as repos:
        repos.secrets.update_secret("company.team", "OPENAI_API_KEY", API_KEY)
    final = flows.run(REVIEW)
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    (sent,) = openai.requests
    assert sent["model"] == "gpt-4o"
    assert sent["max_tokens"] == 2000
    assert sent["messages"][1] == {"role": "user", "content": "Review this diff: + print('hello')"}
    assert "Looks good; add a test." in flows.logs(final)
    (review,) = [r for r in final.task_runs if r.task_id == "generate_review"]
    assert review.outputs["choices"][0]["finishReason"] == "stop"
    assert review.outputs["usage"]["totalTokens"] > 0


def test_a_refused_key_fails_with_the_api_message(flows: Flows, openai: OpenAIDouble) -> None:
    with flows.store.unit() as repos:
        repos.secrets.update_secret("company.team", "OPENAI_API_KEY", "sk-wrong")
    final = flows.run(REVIEW)
    assert final.state is State.FAILED
    assert "OpenAI answered 401: Incorrect API key provided" in flows.logs(final)
    assert not any("sk-wrong" in line for line in flows.logs(final))
