"""IonToParquet and ParquetToIon on the shape of Kestra's ``ion_to_parquet`` and
``parquet_to_ion`` examples: rows stored as Ion written to Parquet with an inferred schema and
with an explicit Avro schema, each file read back by DuckDB (its values, column types, codec and
row groups) and by ParquetToIon; a downloaded Parquet file read as Ion."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from controlplane.engine.model import Execution, State
from controlplane.tasks.ion_text import read_values
from tests.integration.compat.conftest import Flows

ROWS = """\
{id:1,price:9.5,name:"kayak",active:true,sold:2024-03-01,seen:2024-03-01T10:30:00.250Z,note:null,dims:{length:3,unit:"m"},tags:["sea","boat"]}
{id:2,price:12e0,name:"tent \\"XL\\"",active:false,sold:null,seen:2024-03-02T08:00:00+02:00,note:"n/a",dims:{length:null,unit:"cm"},tags:[]}
{id:3,price:null,name:"stove",active:null,sold:2024-03-03,seen:null,note:"gas",dims:null,tags:null}
"""

FLOW = """
id: ion-to-parquet
namespace: company.team
tasks:
  - id: rows
    type: io.kestra.plugin.core.storage.Write
    extension: .ion
    content: |
{rows}
  - id: inferred
    type: io.kestra.plugin.serdes.parquet.IonToParquet
    from: "{{{{ outputs.rows.uri }}}}"
  - id: typed
    type: io.kestra.plugin.serdes.parquet.ParquetWriter
    from: "{{{{ outputs.rows.uri }}}}"
    compressionCodec: SNAPPY
    version: V1
    schema: |
      {{
        "type": "record", "name": "Product", "namespace": "com.example",
        "fields": [
          {{"name": "id", "type": "int"}},
          {{"name": "price", "type": ["null", {{"type": "bytes", "logicalType": "decimal",
            "precision": 9, "scale": 2}}]}},
          {{"name": "name", "type": "string"}},
          {{"name": "active", "type": ["null", "boolean"]}},
          {{"name": "sold", "type": ["null", {{"type": "int", "logicalType": "date"}}]}},
          {{"name": "seen", "type": ["null", {{"type": "long",
            "logicalType": "local-timestamp-millis"}}]}},
          {{"name": "note", "type": ["null", "string"]}},
          {{"name": "dims", "type": ["null", {{"type": "map", "values": ["null", "string"]}}]}},
          {{"name": "tags", "type": ["null", {{"type": "array", "items": "string"}}]}}
        ]
      }}
  - id: back
    type: io.kestra.plugin.serdes.parquet.ParquetToIon
    from: "{{{{ outputs.inferred.uri }}}}"
  - id: typed_back
    type: io.kestra.plugin.serdes.parquet.ParquetReader
    from: "{{{{ outputs.typed.uri }}}}"
"""


def _file(flows: Flows, execution: Execution, task_id: str, tmp_path: Path) -> Path:
    (run,) = [r for r in execution.task_runs if r.task_id == task_id]
    target = tmp_path / f"{task_id}.bin"
    with flows.store.files.open(run.outputs["uri"]) as stream:
        target.write_bytes(stream.read())
    return target


def _query(sql: str, path: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql.replace("FILE", f"'{path}'")).fetchall()


def test_rows_are_written_to_parquet_and_read_back(flows: Flows, tmp_path: Path) -> None:
    rows = "\n".join("      " + line for line in ROWS.splitlines())
    final = flows.run(FLOW.format(rows=rows))
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    outputs = {r.task_id: r.outputs for r in final.task_runs}
    assert outputs["inferred"]["size"] == 3 and outputs["back"]["size"] == 3

    inferred = _file(flows, final, "inferred", tmp_path)
    assert _query("SELECT * FROM read_parquet(FILE) ORDER BY id", inferred) == [
        (
            1, 9.5, "kayak", True, date(2024, 3, 1),
            datetime(2024, 3, 1, 10, 30, 0, 250000, tzinfo=UTC), None,
            {"length": 3, "unit": "m"}, ["sea", "boat"],
        ),
        (
            2, 12.0, 'tent "XL"', False, None, datetime(2024, 3, 2, 6, 0, tzinfo=UTC), None,
            {"length": None, "unit": "cm"}, [],
        ),
        (3, None, "stove", None, date(2024, 3, 3), None, "gas", None, None),
    ]  # fmt: skip
    types = dict(
        _query(
            "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(FILE))",
            inferred,
        )
    )
    assert types == {
        "id": "BIGINT",
        "price": "DOUBLE",
        "name": "VARCHAR",
        "active": "BOOLEAN",
        "sold": "DATE",
        "seen": "TIMESTAMP WITH TIME ZONE",
        "note": "VARCHAR",
        "dims": "STRUCT(length BIGINT, unit VARCHAR)",
        "tags": "VARCHAR[]",
    }
    codecs = {c for (c,) in _query("SELECT compression FROM parquet_metadata(FILE)", inferred)}
    assert codecs == {"GZIP"}

    back = list(read_values(_file(flows, final, "back", tmp_path).read_text()))
    assert back[0]["dims"] == {"length": 3, "unit": "m"} and back[0]["tags"] == ["sea", "boat"]
    assert back[1]["seen"] == datetime(2024, 3, 2, 6, 0, tzinfo=UTC)
    assert back[2] == {
        "id": 3, "price": None, "name": "stove", "active": None,
        "sold": date(2024, 3, 3), "seen": None, "note": "gas", "dims": None,
        "tags": None,
    }  # fmt: skip


def test_an_avro_schema_types_the_columns(flows: Flows, tmp_path: Path) -> None:
    rows = "\n".join("      " + line for line in ROWS.splitlines())
    final = flows.run(FLOW.format(rows=rows))
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")

    typed = _file(flows, final, "typed", tmp_path)
    types = dict(
        _query(
            "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(FILE))",
            typed,
        )
    )
    assert types == {
        "id": "INTEGER",
        "price": "DECIMAL(9,2)",
        "name": "VARCHAR",
        "active": "BOOLEAN",
        "sold": "DATE",
        "seen": "TIMESTAMP",
        "note": "VARCHAR",
        "dims": "MAP(VARCHAR, VARCHAR)",
        "tags": "VARCHAR[]",
    }
    values = _query("SELECT * FROM read_parquet(FILE) ORDER BY id", typed)
    assert values[0][:6] == (
        1, Decimal("9.50"), "kayak", True, date(2024, 3, 1), datetime(2024, 3, 1, 10, 30, 0, 250000)
    )  # fmt: skip
    assert values[0][7:] == ({"length": "3", "unit": "m"}, ["sea", "boat"])
    assert values[1][5] == datetime(2024, 3, 2, 8, 0)  # the local time, as written
    assert values[2][1:5] == (None, "stove", None, date(2024, 3, 3))

    codecs = {c for (c,) in _query("SELECT compression FROM parquet_metadata(FILE)", typed)}
    assert codecs == {"SNAPPY"}

    back = list(read_values(_file(flows, final, "typed_back", tmp_path).read_text()))
    assert back[0]["price"] == Decimal("9.50") and back[0]["sold"] == date(2024, 3, 1)
    assert back[1]["name"] == 'tent "XL"' and back[1]["active"] is False


TYPES = """
id: parquet-types
namespace: company.team
tasks:
  - id: rows
    type: io.kestra.plugin.core.storage.Write
    extension: .ion
    content: |
      {{at:"10:15:30",raw:"abc",grade:"B",score:"1,5",stamp:"2024-03-01T10:00:00"}}
  - id: parquet
    type: io.kestra.plugin.serdes.parquet.IonToParquet
    from: "{{{{ outputs.rows.uri }}}}"
    parquetVersion: V1
    compressionCodec: {codec}
    decimalSeparator: ","
    timeZoneId: Europe/Paris
    schema: |
      {{"type": "record", "name": "R", "fields": [
        {{"name": "at", "type": {{"type": "int", "logicalType": "time-millis"}}}},
        {{"name": "raw", "type": "bytes"}},
        {{"name": "grade", "type": {{"type": "enum", "name": "G", "symbols": ["A", "B"]}}}},
        {{"name": "score", "type": "float"}},
        {{"name": "stamp", "type": {{"type": "long", "logicalType": "timestamp-micros"}}}}
      ]}}
  - id: back
    type: io.kestra.plugin.serdes.parquet.ParquetToIon
    from: "{{{{ outputs.parquet.uri }}}}"
"""


def test_times_bytes_enums_and_codecs(flows: Flows, tmp_path: Path) -> None:
    for codec in ("ZSTD", "UNCOMPRESSED"):
        final = flows.run(TYPES.format(codec=codec))
        assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
        parquet = _file(flows, final, "parquet", tmp_path)
        assert _query("SELECT * FROM read_parquet(FILE)", parquet) == [
            (time(10, 15, 30), b"abc", "B", 1.5, datetime(2024, 3, 1, 9, 0, tzinfo=UTC))
        ]  # the timestamp read in timeZoneId
        codecs = {c for (c,) in _query("SELECT compression FROM parquet_metadata(FILE)", parquet)}
        assert codecs == {codec}
        (back,) = read_values(_file(flows, final, "back", tmp_path).read_text())
        assert back == {
            "at": "10:15:30", "raw": b"abc", "grade": "B", "score": 1.5,
            "stamp": datetime(2024, 3, 1, 9, 0, tzinfo=UTC),
        }  # fmt: skip


MANY = """
id: parquet-row-groups
namespace: company.team
tasks:
  - id: rows
    type: io.kestra.plugin.core.storage.Write
    extension: .ion
    content: |
      {% for i in range(1, 10000) %}
      {id:{{ i }},name:"item {{ i }}"}
      {% endfor %}
  - id: parquet
    type: io.kestra.plugin.serdes.parquet.IonToParquet
    from: "{{ outputs.rows.uri }}"
    rowGroupSize: 60000
"""


def test_row_group_size_is_taken_in_bytes_of_rows(flows: Flows, tmp_path: Path) -> None:
    final = flows.run(MANY)
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    parquet = _file(flows, final, "parquet", tmp_path)
    groups = _query(
        "SELECT row_group_id, max(row_group_num_rows) FROM parquet_metadata(FILE) GROUP BY 1",
        parquet,
    )
    (run,) = [r for r in final.task_runs if r.task_id == "parquet"]
    assert sum(rows for _, rows in groups) == run.outputs["size"] >= 9999
    # 60,000 bytes hold ~2,000 rows of ~30 bytes: DuckDB cuts groups at multiples of 2,048 rows
    assert len(groups) >= 4 and max(rows for _, rows in groups) == 2048


def test_a_union_of_two_types_is_refused(flows: Flows) -> None:
    flow = """
id: parquet-union
namespace: company.team
tasks:
  - id: rows
    type: io.kestra.plugin.core.storage.Write
    extension: .ion
    content: '{v:1}'
  - id: parquet
    type: io.kestra.plugin.serdes.parquet.IonToParquet
    from: "{{ outputs.rows.uri }}"
    schema: '{"type": "record", "name": "R",
      "fields": [{"name": "v", "type": ["null", "long", "string"]}]}'
"""
    final = flows.run(flow)
    assert final.state is State.FAILED
    errors = flows.logs(final, "ERROR")
    assert any('field \'v\' is a union of "long", "string"' in line for line in errors), errors


def test_a_file_that_is_not_parquet_fails_with_its_uri(flows: Flows) -> None:
    flow = """
id: not-parquet
namespace: company.team
tasks:
  - id: text
    type: io.kestra.plugin.core.storage.Write
    extension: .parquet
    content: not a parquet file
  - id: back
    type: io.kestra.plugin.serdes.parquet.ParquetToIon
    from: "{{ outputs.text.uri }}"
"""
    final = flows.run(flow)
    assert final.state is State.FAILED
    errors = flows.logs(final, "ERROR")
    assert any("is not a Parquet file DuckDB reads" in line for line in errors), errors


PRODUCTS = """
id: parquet-to-ion
namespace: company.team
tasks:
  - id: http_download
    type: io.kestra.plugin.core.http.Download
    uri: {base}/products.parquet
  - id: to_ion
    type: io.kestra.plugin.serdes.parquet.ParquetToIon
    from: "{{{{ outputs.http_download.uri }}}}"
  - id: again
    type: io.kestra.plugin.serdes.parquet.IonToParquet
    from: "{{{{ outputs.to_ion.uri }}}}"
"""


def test_a_parquet_file_from_elsewhere_reads_as_ion(
    flows: Flows, serve: Callable[[dict[str, bytes]], str], tmp_path: Path
) -> None:
    """Kestra's ParquetToIon example: a downloaded file, with types IonToParquet never writes."""
    source = tmp_path / "products.parquet"
    with duckdb.connect() as con:
        con.execute(
            "COPY (SELECT * FROM (VALUES "
            "(1::HUGEINT, 'inf'::DOUBLE, INTERVAL 90 MINUTE, [{'sku': 'a', 'qty': 2}], "
            "MAP {'color': 'red'}, '6f1c2a52-2c4a-4b55-9f0e-2a4d0c6c1a10'::UUID), "
            "(2, -1.5, NULL, [], NULL, NULL)) "
            "AS t(id, score, lead, lines, attrs, ref)) "
            f"TO '{source}' (FORMAT parquet)"
        )
    base = serve({"/products.parquet": source.read_bytes()})
    final = flows.run(PRODUCTS.format(base=base))
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")

    rows = list(read_values(_file(flows, final, "to_ion", tmp_path).read_text()))
    assert rows[0]["id"] == 1 and rows[0]["score"] == float("inf")
    assert rows[0]["lines"] == [{"sku": "a", "qty": 2}] and rows[0]["attrs"] == {"color": "red"}
    assert rows[0]["ref"] == "6f1c2a52-2c4a-4b55-9f0e-2a4d0c6c1a10" and rows[0]["lead"] == "PT1H30M"
    assert rows[1] == {
        "id": 2, "score": -1.5, "lead": None, "lines": [], "attrs": None, "ref": None
    }  # fmt: skip

    again = _file(flows, final, "again", tmp_path)
    values = _query("SELECT id, score, lines, attrs FROM read_parquet(FILE) ORDER BY id", again)
    assert values == [
        (1, float("inf"), [{"sku": "a", "qty": 2}], {"color": "red"}),
        (2, -1.5, [], None),
    ]
