"""The serdes converters on real flow shapes: the blueprint ``duckdb-query`` stores a DuckDB
result as Ion and converts it to CSV; CSV, JSON, JSON lines and YAML go to Ion and back."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

import yaml

from controlplane.engine.model import Execution, State
from controlplane.tasks.ion_text import read_values
from tests.integration.compat.conftest import Flows

SALARIES = b"job_title,salary\nengineer,100\nengineer,120\nanalyst,80\n"

DUCKDB_QUERY = """
id: duckdb-query
namespace: company.team
tasks:
  - id: download_csv
    type: io.kestra.plugin.core.http.Download
    uri: {base}/salaries.csv
  - id: avg_salary_by_job_title
    type: io.kestra.plugin.jdbc.duckdb.Query
    inputFiles:
      data.csv: "{{{{ outputs.download_csv.uri }}}}"
    sql: |
      SELECT job_title, ROUND(AVG(salary),2) AS avg_salary
      FROM read_csv_auto('{{{{ workingDir }}}}/data.csv', header=True)
      GROUP BY job_title ORDER BY avg_salary DESC;
    fetchType: STORE
  - id: result
    type: io.kestra.plugin.serdes.csv.IonToCsv
    from: "{{{{ outputs.avg_salary_by_job_title.uri }}}}"
"""

ROUND_TRIP = """
id: round-trip
namespace: company.team
tasks:
  - id: download_csv
    type: io.kestra.plugin.core.http.Download
    uri: {base}/salaries.csv
  - id: csv_to_ion
    type: io.kestra.plugin.serdes.csv.CsvToIon
    from: "{{{{ outputs.download_csv.uri }}}}"
  - id: ion_to_json
    type: io.kestra.plugin.serdes.json.IonToJson
    from: "{{{{ outputs.csv_to_ion.uri }}}}"
    newLine: false
  - id: json_to_ion
    type: io.kestra.plugin.serdes.json.JsonToIon
    from: "{{{{ outputs.ion_to_json.uri }}}}"
    newLine: false
  - id: ion_to_yaml
    type: io.kestra.plugin.serdes.yaml.IonToYaml
    from: "{{{{ outputs.json_to_ion.uri }}}}"
  - id: yaml_to_json
    type: io.kestra.plugin.serdes.yaml.YamlToJson
    from: "{{{{ outputs.ion_to_yaml.uri }}}}"
  - id: legacy_writer
    type: io.kestra.plugin.serdes.csv.CsvWriter
    from: "{{{{ outputs.json_to_ion.uri }}}}"
    fieldSeparator: ";"
    alwaysDelimitText: true
"""


def _file(flows: Flows, execution: Execution, task_id: str) -> str:
    (run,) = [r for r in execution.task_runs if r.task_id == task_id]
    with flows.store.files.open(run.outputs["uri"]) as stream:
        return stream.read().decode()


def test_a_stored_duckdb_result_converts_to_csv(
    flows: Flows, serve: Callable[[dict[str, bytes]], str]
) -> None:
    base = serve({"/salaries.csv": SALARIES})
    final = flows.run(DUCKDB_QUERY.format(base=base))
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    rows = list(csv.reader(io.StringIO(_file(flows, final, "result"))))
    assert rows == [["job_title", "avg_salary"], ["engineer", "110.0"], ["analyst", "80.0"]]


def test_csv_json_yaml_and_ion_convert_into_each_other(
    flows: Flows, serve: Callable[[dict[str, bytes]], str]
) -> None:
    base = serve({"/salaries.csv": SALARIES})
    final = flows.run(ROUND_TRIP.format(base=base))
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    rows = [
        {"job_title": "engineer", "salary": "100"},
        {"job_title": "engineer", "salary": "120"},
        {"job_title": "analyst", "salary": "80"},
    ]
    assert list(read_values(_file(flows, final, "csv_to_ion"))) == rows
    assert json.loads(_file(flows, final, "ion_to_json")) == rows
    assert list(yaml.safe_load_all(_file(flows, final, "ion_to_yaml"))) == rows
    assert json.loads(_file(flows, final, "yaml_to_json")) == rows
    assert _file(flows, final, "legacy_writer").splitlines()[:2] == [
        '"job_title";"salary"',
        '"engineer";"100"',
    ]
