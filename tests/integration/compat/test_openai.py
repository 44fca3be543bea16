"""openai.ChatCompletion against a local double of OpenAI's Chat Completions API, on the shape
of kestra-io/blueprints' PR-review flow (system and user messages, maxTokens, the reply used
by the next task); the Responses API and image generation against a double of those endpoints."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from controlplane.engine.model import State
from tests.doubles import Received, Reply, ServiceDouble
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


class ResponsesAndImages(ServiceDouble):
    """``POST /v1/responses`` (one output message, a URL citation) and ``POST
    /v1/images/generations`` (one image inline as base64, the others as URLs)."""

    def handle(self, request: Received) -> Reply:
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return Reply(401, {"error": {"message": "Incorrect API key provided"}})
        body = request.body
        if request.path == "/v1/responses":
            asked = body["input"][-1]["content"][0]["text"]
            text = {
                "type": "output_text",
                "text": f"Weekly update: {asked[:12]}",
                "annotations": [{"type": "url_citation", "url": "https://kestra.io/blog"}],
            }
            output = [{"type": "message", "role": "assistant", "content": [text]}]
            usage = {"input_tokens": 12, "output_tokens": 5, "total_tokens": 17}
            return Reply(200, {"id": "resp_1", "output": output, "usage": usage})
        if request.path == "/v1/images/generations":
            data = [{"b64_json": base64.b64encode(b"png bytes").decode()}]
            data += [{"url": f"https://images.example/{i}.png"} for i in range(body["n"] - 1)]
            return Reply(200, {"created": 1, "data": data})
        return Reply(404, {"error": {"message": "Unknown request URL"}})


def test_responses_and_images(flows: Flows, monkeypatch: pytest.MonkeyPatch) -> None:
    with ResponsesAndImages() as double:
        monkeypatch.setenv("OPENAI_BASE_URL", double.url + "/v1")
        final = flows.run(
            f"""
id: ai-summarize-weekly-git-commits
namespace: company.team
tasks:
  - id: summarize_commits
    type: io.kestra.plugin.openai.Responses
    apiKey: {API_KEY}
    model: gpt-4o
    input: |
      Summarize the following Git commits into a weekly update.
  - id: puppy
    type: io.kestra.plugin.openai.CreateImage
    apiKey: {API_KEY}
    n: 2
    download: true
    prompt: the cutest little happy smiling puppy
"""
        )
        assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
        (asked,) = double.requests_to("POST", "/v1/responses")
        (drawn,) = double.requests_to("POST", "/v1/images/generations")
    assert asked.body["input"] == [
        {
            "role": "user",
            "content": [
                {
                    "type": "input_text",
                    "text": "Summarize the following Git commits into a weekly update.\n",
                }
            ],
        }
    ]
    assert asked.body["tool_choice"] == "auto" and asked.body["store"] is True
    assert drawn.body == {
        "model": "gpt-image-1",
        "prompt": "the cutest little happy smiling puppy",
        "size": "1024x1024",
        "n": 2,
    }
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    assert outputs["summarize_commits"]["outputText"] == "Weekly update: Summarize th"
    assert outputs["summarize_commits"]["sources"] == ["https://kestra.io/blog"]
    assert outputs["summarize_commits"]["responseId"] == "resp_1"
    first, second = outputs["puppy"]["images"]
    with flows.store.files.open(first) as stream:
        assert stream.read() == b"png bytes"
    assert second == "https://images.example/0.png"
