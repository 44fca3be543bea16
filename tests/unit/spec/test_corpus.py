"""Compatibility over the corpus of real Kestra flows (read in place, never copied).

Every flow that uses only types Weir registers validates, unless Kestra itself rejects it or it
needs Kestra's test build; every flow that uses a type Weir does not register fails with the
unknown-type error naming that type.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from controlplane.spec.registry import registry
from controlplane.spec.usage import used_types
from controlplane.spec.validate import validate_file

# Flows that Kestra itself refuses to load, with the reason; they use only registered types.
REJECTED_BY_KESTRA = {
    "MarkLernDH__whiztask-kestra__kestra__workflows__document-processor.yaml": (
        "input property `default` does not exist (it is `defaults`)"
    ),
    "RNA4219__pulse-kestra__kestra__flows__manual-replay.yaml": (
        "`concurrency.key` is not a property, and `disabled` takes a boolean, not an expression"
    ),
    "RNA4219__pulse-kestra__kestra__flows__notifier-resend.yaml": (
        "`concurrency.key` is not a property"
    ),
    "Ben8t__kestra_enterprise_resources__resources__flows__infra_assets.yaml": (
        "`assets` on a task: the open edition refuses it (assets are only available in "
        "Enterprise Edition)"
    ),
    "guglxni__lighthouse-kestra__flows__ingest__rss.yaml": (
        "jdbc.postgresql.Queries has no `sqlType` property, and its required `url` is missing"
    ),
    "joaoblasques__data-pipeline-orchestration-kestra__flows__04_gcp_kv_template.yaml": (
        "kv.Set `value` is null (a template left unfilled); Kestra requires it"
    ),
    "kestra-io__blueprints__flows__ai-model-router.yaml": (
        "perplexity.ChatCompletion messages have no `role` (they take `type`), and "
        "gemini.ChatCompletion `messages` are texts, not {role, content} maps"
    ),
}

# Flows whose expressions are not valid Pebble: `weir validate` reports them; Kestra only fails
# when it renders them.
INVALID_EXPRESSIONS = {
    "kestra-io__kestra__core__src__test__resources__flows__valids__flowable-with-parent-fail.yaml": (
        "a {% for %} tag nested inside {{ }} (Kestra's own test expects the run to fail)"
    ),
    "kestra-io__blueprints__flows__dropbox-backup-to-s3.yaml": (
        "YAML-style doubled quotes inside a Pebble string ('yyyy-MM-dd''T''...'), which Pebble's "
        "parser rejects too"
    ),
}

# Flows using a core type that cannot work on Weir: validation refuses them with the reason.
REFUSED_BY_WEIR = {
    "kestra-io__kestra__core__src__test__resources__flows__templates__with-template.yaml": (
        "flow.Template: templates were removed from Kestra; Weir has no template store"
    ),
    "kestra-io__kestra__core__src__test__resources__flows__valids__http-listen-encrypted.yaml": (
        "http.Trigger with encryptBody: Weir has no encrypted outputs, so the body would be "
        "stored in clear"
    ),
}

# Figures stated in the closing note of the work that registered the current types; they change
# when types are added, and then this test says by how much.
EXPECTED_VALID = 313
EXPECTED_UNKNOWN_TYPE = 76


def _manifest(corpus: Path) -> dict[str, dict[str, str]]:
    with (corpus / "MANIFEST.tsv").open(newline="") as handle:
        return {row["filename"]: row for row in csv.DictReader(handle, delimiter="\t")}


def _classify(corpus: Path) -> tuple[list[Path], list[tuple[Path, set[str]]], list[Path]]:
    registered_only: list[Path] = []
    unregistered: list[tuple[Path, set[str]]] = []
    excluded: list[Path] = []
    manifest = _manifest(corpus)
    for path in sorted(corpus.glob("*.yaml")):
        notes = manifest[path.name]["notes"]
        unknown = {
            name
            for kind, name in used_types(yaml.safe_load(path.read_text()))
            if registry.resolve(kind, name) is None
        }
        if unknown:
            unregistered.append((path, unknown))
        elif (
            "test-classpath-only" in notes
            or path.name in REJECTED_BY_KESTRA
            or path.name in INVALID_EXPRESSIONS
            or path.name in REFUSED_BY_WEIR
        ):
            excluded.append(path)
        else:
            registered_only.append(path)
    return registered_only, unregistered, excluded


def test_flows_of_registered_types_validate_and_others_name_the_unknown_type(corpus: Path) -> None:
    registered_only, unregistered, _ = _classify(corpus)
    invalid = {}
    for path in registered_only:
        result = validate_file(path)
        if not result.ok:
            invalid[path.name] = [str(p) for p in result.problems]
    assert invalid == {}

    not_reported = {}
    for path, unknown in unregistered:
        result = validate_file(path)
        reported = {p.message.split("'")[1] for p in result.problems if p.code == "unknown_type"}
        if result.ok or not unknown <= reported:
            not_reported[path.name] = sorted(unknown - reported)
    assert not_reported == {}

    assert (len(registered_only), len(unregistered)) == (EXPECTED_VALID, EXPECTED_UNKNOWN_TYPE)


@pytest.mark.parametrize(
    "name", sorted(REJECTED_BY_KESTRA) + sorted(INVALID_EXPRESSIONS) + sorted(REFUSED_BY_WEIR)
)
def test_flows_kestra_rejects_are_rejected(corpus: Path, name: str) -> None:
    result = validate_file(corpus / name)
    assert not result.ok
    assert "unknown_type" not in {p.code for p in result.problems}
