"""Binary file formats of Kestra's serdes family: Excel (``serdes.excel.*``), Avro
(``serdes.avro.*``) and Parquet (``serdes.parquet.*``) to and from Ion."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from controlplane.spec.fields import DynBool, DynInt, DynStrList, Text
from controlplane.spec.plugins.serdes import OnBadLines
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec

_SERDES = "io.kestra.plugin.serdes"

TRUE_VALUES = ("t", "true", "enabled", "1", "on", "yes")
FALSE_VALUES = ("f", "false", "disabled", "0", "off", "no", "")
NULL_VALUES = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "1.#IND", "1.#QNAN", "NA",
    "n/a", "nan", "null",
)  # fmt: skip


@task(f"{_SERDES}.excel.IonToExcel")
class IonToExcel(TaskSpec):
    """An Ion file as an XLSX workbook; ``from`` may also map sheet titles to Ion files (one
    sheet each). The header row is the first row's keys. Outputs ``uri`` and ``size`` (rows)."""

    from_: Text | dict[str, Text] = Field(alias="from")
    charset: Text = "UTF-8"
    sheetsTitle: Text = "Sheet"
    header: DynBool = True
    styles: DynBool = True
    dateFormat: Text = "yyyy-mm-dd"
    timeFormat: Text | None = None
    dateTimeFormat: Text = "yyyy-mm-dd hh:mm:ss"
    timeZoneId: Text | None = None


@task(f"{_SERDES}.excel.ExcelToIon")
class ExcelToIon(TaskSpec):
    """Each sheet of an XLSX workbook (or those ``sheetsTitle`` names) as an Ion file, a struct
    per row keyed by the header row (or a list per row without one). Outputs ``uris`` by sheet
    title and ``size`` (rows)."""

    from_: Text = Field(alias="from")
    sheetsTitle: DynStrList | None = None
    charset: Text = "UTF-8"
    valueRender: Literal["FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"] = "UNFORMATTED_VALUE"
    dateTimeRender: Literal["SERIAL_NUMBER", "FORMATTED_STRING", "UNFORMATTED_VALUE"] = (
        "UNFORMATTED_VALUE"
    )
    header: DynBool = True
    skipEmptyRows: DynBool = False
    skipRows: int = 0


class AvroConversion(TaskSpec):
    """Rows of an Ion file as records of ``schema`` (an Avro schema as JSON text), or of a schema
    inferred from the first ``numberOfRowsToScan`` rows (all of them with ``inferAllFields``).
    Text values are converted to the schema's types (booleans from ``trueValues`` /
    ``falseValues``, nulls from ``nullValues``): Kestra's ``AbstractAvroConverter``."""

    from_: Text = Field(alias="from")
    schema_: Text | dict[str, Any] | None = Field(default=None, alias="schema")
    numberOfRowsToScan: DynInt = 100
    trueValues: DynStrList = Field(default_factory=lambda: list(TRUE_VALUES))
    falseValues: DynStrList = Field(default_factory=lambda: list(FALSE_VALUES))
    nullValues: DynStrList = Field(default_factory=lambda: list(NULL_VALUES))
    dateFormat: Text = "yyyy-MM-dd[XXX]"
    timeFormat: Text = "HH:mm[:ss][.SSSSSS][XXX]"
    datetimeFormat: Text = "yyyy-MM-dd'T'HH:mm[:ss][.SSSSSS][XXX]"
    decimalSeparator: Text = "."
    strictSchema: DynBool = False
    inferAllFields: DynBool = False
    timeZoneId: Text | None = None
    onBadLines: OnBadLines = "ERROR"


@task(f"{_SERDES}.avro.IonToAvro", f"{_SERDES}.avro.AvroWriter")
class IonToAvro(AvroConversion):
    """An Ion file as an Avro container file. Outputs ``uri`` and ``size``."""


DEFAULT_ROW_GROUP_SIZE = 128 * 1024 * 1024
DEFAULT_PAGE_SIZE = 1024 * 1024


@task(f"{_SERDES}.parquet.IonToParquet", f"{_SERDES}.parquet.ParquetWriter")
class IonToParquet(AvroConversion):
    """An Ion file as a Parquet file, its columns typed by the Avro schema. Outputs ``uri`` and
    ``size``."""

    compressionCodec: Literal["UNCOMPRESSED", "SNAPPY", "GZIP", "ZSTD"] = "GZIP"
    parquetVersion: Literal["V1", "V2"] | None = None
    """V2 unless set (or set by ``version``, the name Kestra gave it before)."""
    version: Literal["V1", "V2"] | None = None
    rowGroupSize: DynInt = DEFAULT_ROW_GROUP_SIZE
    pageSize: DynInt = DEFAULT_PAGE_SIZE
    dictionaryPageSize: DynInt = DEFAULT_PAGE_SIZE


@task(f"{_SERDES}.parquet.ParquetToIon", f"{_SERDES}.parquet.ParquetReader")
class ParquetToIon(TaskSpec):
    """A Parquet file as an Ion file, a struct per row. Outputs ``uri`` and ``size``."""

    from_: Text = Field(alias="from")


@task(f"{_SERDES}.avro.AvroToIon", f"{_SERDES}.avro.AvroReader")
class AvroToIon(TaskSpec):
    """An Avro container file as an Ion file, a struct per record. Outputs ``uri`` and ``size``."""

    from_: Text = Field(alias="from")
    onBadLines: OnBadLines = "ERROR"
