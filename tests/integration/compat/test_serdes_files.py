"""Excel and Avro converters on the shape of kestra-io/blueprints' flows: a stored query result
(a SQLite table of features) exported to Excel beside CSV, and transformed rows written to Avro
with an explicit nullable schema; each file read back by openpyxl / fastavro and by the reverse
converter."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import fastavro
import openpyxl

from controlplane.engine.model import Execution, State
from controlplane.tasks.ion_text import read_values
from tests.integration.compat.conftest import Flows

FEATURES = """
id: kestra-features-export
namespace: company.team
tasks:
  - id: rows
    type: io.kestra.plugin.core.storage.Write
    extension: .ion
    content: |
      {name:"Subflows",release_version:"0.7",stars:12,shipped:2023-02-01,beta:false,tags:["flow"]}
      {name:"Namespace files",release_version:"0.12",stars:9.5,shipped:2023-09-01T10:30:00Z,beta:true,tags:null}
      {name:"Apps",release_version:"0.20",stars:null,shipped:null,beta:true,tags:[]}
  - id: to_excel
    type: io.kestra.plugin.serdes.excel.IonToExcel
    from: "{{ outputs.rows.uri }}"
    sheetsTitle: Features
  - id: from_excel
    type: io.kestra.plugin.serdes.excel.ExcelToIon
    from: "{{ outputs.to_excel.uri }}"
  - id: to_avro
    type: io.kestra.plugin.serdes.avro.IonToAvro
    from: "{{ outputs.from_excel.uris['Features'] }}"
    schema: |
      {
        "type": "record",
        "name": "Feature",
        "fields": [
          {"name": "name", "type": "string"},
          {"name": "release_version", "type": ["null", "string"]},
          {"name": "stars", "type": ["null", "double"]},
          {"name": "beta", "type": ["null", "boolean"]},
          {"name": "shipped", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}]}
        ]
      }
  - id: inferred
    type: io.kestra.plugin.serdes.avro.IonToAvro
    from: "{{ outputs.rows.uri }}"
  - id: back
    type: io.kestra.plugin.serdes.avro.AvroToIon
    from: "{{ outputs.to_avro.uri }}"
"""


def _bytes(flows: Flows, execution: Execution, task_id: str, key: str = "uri") -> bytes:
    (run,) = [r for r in execution.task_runs if r.task_id == task_id]
    with flows.store.files.open(run.outputs[key]) as stream:
        return stream.read()


def test_rows_go_to_excel_and_avro_and_back(flows: Flows) -> None:
    final = flows.run(FEATURES)
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    assert outputs["to_excel"]["size"] == 3 and outputs["from_excel"]["size"] == 3

    sheet = openpyxl.load_workbook(io.BytesIO(_bytes(flows, final, "to_excel")))["Features"]
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0] == ["name", "release_version", "stars", "shipped", "beta", "tags"]
    assert cells[1] == ["Subflows", "0.7", 12, datetime(2023, 2, 1), False, '["flow"]']
    assert cells[2][3] == datetime(2023, 9, 1, 10, 30) and cells[2][2] == 9.5
    assert cells[3] == ["Apps", "0.20", None, None, True, "[]"]
    assert sheet["A1"].font.b

    (sheet_uri,) = outputs["from_excel"]["uris"].values()
    with flows.store.files.open(sheet_uri) as stream:
        read_back = list(read_values(stream.read().decode()))
    assert read_back[0]["name"] == "Subflows" and read_back[0]["stars"] == 12
    assert read_back[1]["shipped"] == datetime(2023, 9, 1, 10, 30)

    records = list(fastavro.reader(io.BytesIO(_bytes(flows, final, "to_avro"))))
    assert [r["name"] for r in records] == ["Subflows", "Namespace files", "Apps"]
    assert records[0]["stars"] == 12.0 and records[0]["beta"] is False
    assert records[2]["stars"] is None and records[2]["shipped"] is None
    assert records[1]["shipped"].isoformat() == "2023-09-01T10:30:00+00:00"

    inferred = fastavro.reader(io.BytesIO(_bytes(flows, final, "inferred")))
    fields = {f["name"]: f["type"] for f in inferred.writer_schema["fields"]}  # type: ignore[index]
    assert fields["stars"] == ["null", "double"] and fields["beta"] == ["null", "boolean"]
    assert fields["shipped"] == ["null", {"type": "long", "logicalType": "timestamp-millis"}]
    assert fields["tags"] == ["null", {"type": "array", "items": ["null", "string"]}]
    first = next(inferred)
    assert first["shipped"] == datetime(2023, 2, 1, tzinfo=UTC)  # type: ignore[index]
    assert first["stars"] == 12.0 and first["tags"] == ["flow"]  # type: ignore[index]

    back = list(read_values(_bytes(flows, final, "back").decode()))
    assert back[0]["name"] == "Subflows" and back[0]["stars"] == 12.0
    assert outputs["back"]["size"] == 3


def test_a_row_that_does_not_fit_the_schema_fails_or_is_skipped(flows: Flows) -> None:
    flow = """
id: avro-bad-lines
namespace: company.team
tasks:
  - id: rows
    type: io.kestra.plugin.core.storage.Write
    extension: .ion
    content: |
      {id:"1",amount:"12.5"}
      {id:"two",amount:"3"}
  - id: avro
    type: io.kestra.plugin.serdes.avro.IonToAvro
    from: "{{ outputs.rows.uri }}"
    onBadLines: ON_BAD
    schema: '{"type": "record", "name": "R", "fields": [{"name": "id", "type": "int"},
      {"name": "amount", "type": "double"}]}'
"""
    failed = flows.run(flow.replace("ON_BAD", "ERROR"))
    assert failed.state is State.FAILED
    assert any("row 2 does not fit the schema: 'id'" in line for line in flows.logs(failed))

    skipped = flows.run(flow.replace("ON_BAD", "WARN").replace("avro-bad-lines", "warned"))
    assert skipped.state is State.SUCCESS, flows.logs(skipped, "ERROR")
    records = list(fastavro.reader(io.BytesIO(_bytes(flows, skipped, "avro"))))
    assert records == [{"id": 1, "amount": 12.5}]
    assert any("row 2 skipped" in line for line in flows.logs(skipped, "WARN"))
