"""A value rendered from ``secret()`` never lands in clear: not in logs (in any common encoding),
not in outputs, labels or error messages."""

from __future__ import annotations

import base64

from controlplane.engine.model import State
from tests.integration.tasks.conftest import Runner

LOG = "io.kestra.plugin.core.log.Log"
SECRET = "s3cr3t-Value-42"


def test_logs_mask_the_secret_in_its_common_encodings(runner: Runner) -> None:
    runner.put_secret("company.team", "TOKEN", SECRET)
    shown = [
        "{{ secret('TOKEN') | upper }}",
        "{{ secret('TOKEN') | lower }}",
        "{{ secret('TOKEN') | base64encode }}",
        "{{ secret('TOKEN') | split('') | join(' ') }}",
        "{{ secret('TOKEN') | split('') | join('-') }}",
        "{{ secret('TOKEN') | urlencode }}",
        "{{ {'token': secret('TOKEN')} | json }}",
        "before {{ secret('TOKEN') }} after",
    ]
    result = runner.run({"id": "l", "type": LOG, "message": shown})
    assert result.state is State.SUCCESS
    messages = runner.messages(result)
    assert len(messages) == len(shown)
    encoded = base64.b64encode(SECRET.encode()).decode()
    for message in messages:
        assert "********" in message
        for clear in (SECRET, SECRET.upper(), SECRET.lower(), encoded, " ".join(SECRET)):
            assert clear not in message
    assert messages[-1] == "before ******** after"
    assert messages[-2] == '{"token":"********"}' or messages[-2] == '{"token": "********"}'


def test_outputs_labels_and_errors_never_hold_the_secret(runner: Runner) -> None:
    runner.put_secret("company.team", "TOKEN", SECRET)
    returned = runner.run(
        {"id": "r", "type": "io.kestra.plugin.core.debug.Return",
         "format": "key={{ secret('TOKEN') | upper }}"}
    )  # fmt: skip
    assert returned.outputs == {"value": "key=********"}
    values = runner.run(
        {"id": "o", "type": "io.kestra.plugin.core.output.OutputValues",
         "values": {"nested": {"token": "{{ secret('TOKEN') }}"}, "list": ["{{ secret('TOKEN') }}"]}}
    )  # fmt: skip
    assert SECRET not in repr(values.outputs)
    assert "********" in repr(values.outputs)
    labels = runner.run(
        {"id": "l", "type": "io.kestra.plugin.core.execution.Labels",
         "labels": {"who": "{{ secret('TOKEN') }}"}}
    )  # fmt: skip
    assert labels.labels == {"who": "********"}
    failed = runner.run(
        {"id": "f", "type": "io.kestra.plugin.core.execution.Fail",
         "errorMessage": "bad token {{ secret('TOKEN') }}"}
    )  # fmt: skip
    assert failed.state is State.FAILED
    assert SECRET not in (failed.error or "") and "********" in (failed.error or "")


def test_a_script_printing_the_secret_it_was_given_is_masked_too(runner: Runner) -> None:
    runner.put_secret("company.team", "TOKEN", SECRET)
    result = runner.run(
        {
            "id": "sh",
            "type": "io.kestra.plugin.scripts.shell.Commands",
            "env": {"TOKEN": "{{ secret('TOKEN') }}"},
            "commands": [
                'echo "$TOKEN"',
                "printf '%s' \"$TOKEN\" | base64",
                'echo "::{\\"outputs\\": {\\"leak\\": \\"$TOKEN\\"}}::"',
            ],
        }
    )
    assert result.state is State.SUCCESS, runner.messages(result)
    assert runner.messages(result) == ["********", "********"]
    assert result.outputs["vars"] == {"leak": "********"}
