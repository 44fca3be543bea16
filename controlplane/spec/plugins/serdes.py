"""File converters of Kestra's serdes family (``io.kestra.plugin.serdes.*``): CSV, JSON, JSON
lines and YAML to and from Ion, the row format of Kestra's stored results."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from controlplane.spec.fields import DynBool, Text
from controlplane.spec.registry import task
from controlplane.spec.tasks import TaskSpec

_SERDES = "io.kestra.plugin.serdes"

OnBadLines = Literal["ERROR", "WARN", "SKIP"]


@task(f"{_SERDES}.csv.CsvToIon", f"{_SERDES}.csv.CsvReader")
class CsvToIon(TaskSpec):
    from_: Text = Field(alias="from")
    header: DynBool = True
    fieldSeparator: Text = ","
    textDelimiter: Text = '"'
    skipEmptyRows: DynBool = False
    skipRows: int = 0
    charset: Text = "UTF-8"
    onBadLines: OnBadLines = "ERROR"
    onEmptyHeader: Literal["DROP", "RENAME"] = "DROP"
    """DROP: trailing header columns without a name are left out; RENAME: named ``col_<i>``."""
    errorOnDifferentFieldCount: DynBool | None = None
    allowExtraCharsAfterClosingQuote: DynBool = False
    maxBufferSize: int | None = None
    maxFieldSize: int | None = None


@task(f"{_SERDES}.csv.IonToCsv", f"{_SERDES}.csv.CsvWriter")
class IonToCsv(TaskSpec):
    from_: Text = Field(alias="from")
    header: DynBool = True
    fieldSeparator: Text = ","
    textDelimiter: Text = '"'
    lineDelimiter: Text = "\n"
    alwaysDelimitText: DynBool = False
    """Deprecated: ``quoteMode: ALWAYS``; ignored when ``quoteMode`` is set."""
    quoteMode: Literal["ALWAYS", "REQUIRED", "NON_NUMERIC"] | None = None
    charset: Text = "UTF-8"
    dateFormat: Text = "yyyy-MM-dd"
    timeFormat: Text = "HH:mm:ss[XXX]"
    dateTimeFormat: Text = "yyyy-MM-dd'T'HH:mm:ss.SSS[XXX]"
    timeZoneId: Text | None = None
    """The zone timestamps with an offset are written in; UTC when not set."""


@task(f"{_SERDES}.json.JsonToIon", f"{_SERDES}.json.JsonReader")
class JsonToIon(TaskSpec):
    from_: Text = Field(alias="from")
    newLine: DynBool = True
    charset: Text = "UTF-8"


@task(f"{_SERDES}.json.IonToJson", f"{_SERDES}.json.JsonWriter")
class IonToJson(TaskSpec):
    from_: Text = Field(alias="from")
    newLine: DynBool = True
    charset: Text = "UTF-8"
    timeZoneId: Text | None = None
    shouldKeepAnnotations: DynBool = False


@task(f"{_SERDES}.json.JsonToJsonl")
class JsonToJsonl(TaskSpec):
    from_: Text = Field(alias="from")
    charset: Text = "UTF-8"


@task(f"{_SERDES}.yaml.YamlToIon")
class YamlToIon(TaskSpec):
    from_: Text = Field(alias="from")
    charset: Text = "UTF-8"


@task(f"{_SERDES}.yaml.IonToYaml")
class IonToYaml(TaskSpec):
    from_: Text = Field(alias="from")
    charset: Text = "UTF-8"


@task(f"{_SERDES}.yaml.JsonToYaml")
class JsonToYaml(TaskSpec):
    from_: Text = Field(alias="from")
    charset: Text = "UTF-8"


@task(f"{_SERDES}.yaml.YamlToJson")
class YamlToJson(TaskSpec):
    from_: Text = Field(alias="from")
    charset: Text = "UTF-8"
