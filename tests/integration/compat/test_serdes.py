"""The serdes converters on real flow shapes: the blueprint ``duckdb-query`` stores a DuckDB
result as Ion and converts it to CSV; CSV, JSON, JSON lines and YAML go to Ion and back; the
blueprint ``odoo-export-invoices-to-warehouse`` writes CSV with ``quoteMode``; an export whose
header has unnamed columns and a byte order mark goes to Ion."""

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


QUOTING = """
id: odoo-invoices-csv
namespace: company.team
tasks:
  - id: invoices
    type: io.kestra.plugin.core.storage.Write
    extension: .ion
    content: |
      {name:"INV/2024/0001",partner:"Acme; Inc",amount_total:1250.5,residual:-3,paid:false,note:null,memo:""}
      {name:"INV/2024/0002",partner:"Bob \\"B\\"",amount_total:80.,residual:0,paid:true,note:"ok",memo:"x"}
  - id: non_numeric
    type: io.kestra.plugin.serdes.csv.IonToCsv
    from: "{{ outputs.invoices.uri }}"
    quoteMode: NON_NUMERIC
  - id: required
    type: io.kestra.plugin.serdes.csv.IonToCsv
    from: "{{ outputs.invoices.uri }}"
    fieldSeparator: ";"
    quoteMode: REQUIRED
    alwaysDelimitText: true
  - id: always
    type: io.kestra.plugin.serdes.csv.IonToCsv
    from: "{{ outputs.invoices.uri }}"
    header: false
    lineDelimiter: "\\r\\n"
    quoteMode: ALWAYS
"""


def test_quote_mode_quotes_all_fields_the_needed_ones_or_the_non_numeric_ones(
    flows: Flows,
) -> None:
    final = flows.run(QUOTING)
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    assert _file(flows, final, "non_numeric").splitlines() == [
        '"name","partner","amount_total","residual","paid","note","memo"',
        '"INV/2024/0001","Acme; Inc",1250.5,-3,"false",,',
        '"INV/2024/0002","Bob ""B""",80,0,"true","ok","x"',
    ]
    assert _file(flows, final, "required").splitlines() == [
        "name;partner;amount_total;residual;paid;note;memo",
        'INV/2024/0001;"Acme; Inc";1250.5;-3;false;;',
        'INV/2024/0002;"Bob ""B""";80;0;true;ok;x',
    ]
    assert _file(flows, final, "always") == (
        '"INV/2024/0001","Acme; Inc","1250.5","-3","false","",""\r\n'
        '"INV/2024/0002","Bob ""B""","80","0","true","ok","x"\r\n'
    )
    sizes = [r.outputs["size"] for r in final.task_runs if r.task_id != "invoices"]
    assert sizes == [2, 2, 2]


EMPTY_HEADERS = b"\xef\xbb\xbfid,,name,,\n1,a,x,b,\n2,c,y,d,\n"

HEADERS = """
id: csv-headers
namespace: company.team
tasks:
  - id: download
    type: io.kestra.plugin.core.http.Download
    uri: {base}/export.csv
  - id: dropped
    type: io.kestra.plugin.serdes.csv.CsvToIon
    from: "{{{{ outputs.download.uri }}}}"
  - id: renamed
    type: io.kestra.plugin.serdes.csv.CsvToIon
    from: "{{{{ outputs.download.uri }}}}"
    onEmptyHeader: RENAME
  - id: latin1
    type: io.kestra.plugin.serdes.csv.CsvToIon
    from: "{{{{ outputs.download.uri }}}}"
    charset: ISO-8859-1
    onEmptyHeader: RENAME
"""


def test_unnamed_header_columns_are_dropped_or_renamed_and_a_bom_is_not_a_name(
    flows: Flows, serve: Callable[[dict[str, bytes]], str]
) -> None:
    base = serve({"/export.csv": EMPTY_HEADERS})
    final = flows.run(HEADERS.format(base=base))
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    assert list(read_values(_file(flows, final, "dropped"))) == [
        {"id": "1", "": "a", "name": "x"},
        {"id": "2", "": "c", "name": "y"},
    ]
    warnings = flows.logs(final, "WARN")
    assert any("Dropped 2 trailing unnamed header column(s)" in w for w in warnings), warnings
    assert list(read_values(_file(flows, final, "renamed"))) == [
        {"id": "1", "col_1": "a", "name": "x", "col_3": "b", "col_4": ""},
        {"id": "2", "col_1": "c", "name": "y", "col_3": "d", "col_4": ""},
    ]
    latin1 = list(read_values(_file(flows, final, "latin1")))
    assert list(latin1[0]) == ["ï»¿id", "col_1", "name", "col_3", "col_4"]
    sizes = {r.task_id: r.outputs.get("size") for r in final.task_runs}
    assert sizes["dropped"] == sizes["renamed"] == 2


MOMENTS = """
id: csv-moments
namespace: company.team
tasks:
  - id: rows
    type: io.kestra.plugin.core.storage.Write
    extension: .ion
    content: |
      {day:2024-03-01,at:2024-03-02T08:00:00.5+02:00,local:2024-03-02T08:00:00-00:00}
  - id: defaults
    type: io.kestra.plugin.serdes.csv.IonToCsv
    from: "{{ outputs.rows.uri }}"
  - id: patterns
    type: io.kestra.plugin.serdes.csv.IonToCsv
    from: "{{ outputs.rows.uri }}"
    dateFormat: dd/MM/yyyy
    dateTimeFormat: "yyyy-MM-dd HH:mm[ XXX]"
    timeZoneId: America/New_York
"""


def test_dates_and_timestamps_are_written_by_kestra_patterns(flows: Flows) -> None:
    final = flows.run(MOMENTS)
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    assert _file(flows, final, "defaults").splitlines() == [
        "day,at,local",
        "2024-03-01,2024-03-02T06:00:00.500Z,2024-03-02T08:00:00.000Z",
    ]
    assert _file(flows, final, "patterns").splitlines()[1] == (
        "01/03/2024,2024-03-02 01:00 -05:00,2024-03-02 08:00 Z"
    )
