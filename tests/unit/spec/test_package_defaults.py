"""A plugin default naming a package gives each task only the properties its type has (one GCP
default may carry BigQuery's ``location`` for GCS tasks too); one naming the exact type still has
every key checked."""

from __future__ import annotations

from controlplane.spec.plugins.gcp import BigQueryQuery, GcsUpload
from controlplane.spec.validate import validate_text

FLOW = """
id: f
namespace: company.team
tasks:
  - id: upload
    type: io.kestra.plugin.gcp.gcs.Upload
    from: kestra:///file.csv
    to: gs://bucket/file.csv
  - id: query
    type: io.kestra.plugin.gcp.bigquery.Query
    sql: SELECT 1
pluginDefaults:
  - type: io.kestra.plugin.gcp
    values:
      projectId: project
      location: EU
      bucket: bucket
"""


def test_a_package_default_gives_each_task_the_properties_it_has() -> None:
    result = validate_text(FLOW)
    assert result.ok, [str(p) for p in result.problems]
    assert result.flow is not None
    upload, query = result.flow.tasks
    assert isinstance(upload, GcsUpload) and isinstance(query, BigQueryQuery)
    assert (upload.projectId, query.projectId, query.location) == ("project", "project", "EU")


def test_an_exact_type_default_still_has_every_key_checked() -> None:
    source = FLOW.replace("type: io.kestra.plugin.gcp\n", "type: io.kestra.plugin.gcp.gcs.Upload\n")
    result = validate_text(source)
    assert not result.ok
    messages = [p.message for p in result.problems]
    assert any(
        "unknown property 'location'" in m and "given by pluginDefaults" in m for m in messages
    )
    assert any("unknown property 'bucket'" in m for m in messages)
