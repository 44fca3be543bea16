"""An unknown type is named with the plugin family it belongs to, so a user knows what to ask for."""

from __future__ import annotations

import pytest

from controlplane.spec.families import family_of
from controlplane.spec.validate import validate_text


@pytest.mark.parametrize(
    ("type_name", "family"),
    [
        ("io.kestra.plugin.serdes.csv.IonToCsv", "plugin family serdes, Kestra's plugin-serdes"),
        ("io.kestra.plugin.gcp.bigquery.Query", "plugin family gcp.bigquery, Kestra's plugin-gcp"),
        (
            "io.kestra.plugin.jdbc.snowflake.Query",
            "plugin family jdbc.snowflake, Kestra's plugin-jdbc",
        ),
        ("io.kestra.plugin.core.flow.Loop", "Kestra core, package flow"),
        ("io.kestra.core.tasks.storages.Bogus", "Kestra core, package storages"),
        (
            "io.kestra.core.tasks.scripts.Bash",
            "a legacy script task removed in Kestra 0.17; use io.kestra.plugin.scripts.*",
        ),
        ("io.kestra.core.tasks.test.Encrypted", "Kestra's own test build, shipped in no release"),
        (
            "io.kestra.plugin.ee.netbox.device.Create",
            "Kestra Enterprise, not in the open-source edition",
        ),
        ("com.example.Thing", "a plugin outside Kestra's own families"),
    ],
)
def test_family_of_a_type(type_name: str, family: str) -> None:
    assert family_of(type_name) == family


def test_validate_names_the_family_of_an_unknown_type() -> None:
    result = validate_text(
        "id: f\nnamespace: company.team\ntasks:\n"
        "  - id: pipeline\n    type: io.kestra.plugin.beam.RunPipeline\n"
    )
    (problem,) = result.problems
    assert problem.message == (
        "unknown task type 'io.kestra.plugin.beam.RunPipeline': Weir does not implement it "
        "(plugin family beam, Kestra's plugin-beam)"
    )
