"""compress.* on the shape of kestra-io/blueprints' divvy-bike-trips flows: a downloaded ZIP is
unpacked and one member, picked by name from ``outputs.unzip.files``, goes on to CsvToIon; and
archives and compressed files round-trip."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

from controlplane.engine.model import Execution, State
from controlplane.tasks.ion_text import read_values
from tests.integration.compat.conftest import Flows

TRIPS = "ride_id,rideable_type\nA1,electric_bike\nB2,classic_bike\n"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("202401-divvy-tripdata.csv", TRIPS)
        archive.writestr("__MACOSX/._202401-divvy-tripdata.csv", b"\x00")
    return buffer.getvalue()


UNZIP = """
id: divvy
namespace: company.team
variables:
  file_id: "202401"
tasks:
  - id: get_zipfile
    type: io.kestra.plugin.core.http.Download
    uri: {base}/202401-divvy-tripdata.zip
  - id: unzip
    type: io.kestra.plugin.compress.ArchiveDecompress
    algorithm: ZIP
    from: "{{{{ outputs.get_zipfile.uri }}}}"
  - id: csv_to_ion
    type: io.kestra.plugin.serdes.csv.CsvToIon
    from: "{{{{ outputs.unzip.files[render(vars.file_id) ~ '-divvy-tripdata.csv'] }}}}"
  - id: tar
    type: io.kestra.plugin.compress.ArchiveCompress
    algorithm: TAR
    compression: GZIP
    from:
      trips.csv: "{{{{ outputs.unzip.files['202401-divvy-tripdata.csv'] }}}}"
  - id: untar
    type: io.kestra.plugin.compress.ArchiveDecompress
    algorithm: TAR
    compression: GZIP
    from: "{{{{ outputs.tar.uri }}}}"
  - id: gzip
    type: io.kestra.plugin.compress.FileCompress
    compression: BZIP2
    from: "{{{{ outputs.untar.files['trips.csv'] }}}}"
  - id: gunzip
    type: io.kestra.plugin.compress.FileDecompress
    compression: BZIP2
    from: "{{{{ outputs.gzip.uri }}}}"
"""


def _output(execution: Execution, task_id: str) -> dict[str, object]:
    (run,) = [r for r in execution.task_runs if r.task_id == task_id]
    return run.outputs


def test_a_downloaded_zip_is_unpacked_and_its_members_converted_and_repacked(
    flows: Flows, serve: Callable[[dict[str, bytes]], str]
) -> None:
    base = serve({"/202401-divvy-tripdata.zip": _zip()})
    final = flows.run(UNZIP.format(base=base))
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    assert sorted(_output(final, "unzip")["files"]) == [  # type: ignore[call-overload]
        "202401-divvy-tripdata.csv",
        "__MACOSX/._202401-divvy-tripdata.csv",
    ]
    with flows.store.files.open(str(_output(final, "csv_to_ion")["uri"])) as stream:
        rows = list(read_values(stream.read().decode()))
    assert [row["ride_id"] for row in rows] == ["A1", "B2"]
    with flows.store.files.open(str(_output(final, "gunzip")["uri"])) as stream:
        assert stream.read().decode() == TRIPS


def test_an_archive_format_weir_lacks_fails_with_the_reason(flows: Flows) -> None:
    final = flows.run(
        "id: cpio\nnamespace: company.team\ntasks:\n"
        "  - id: w\n    type: io.kestra.plugin.core.storage.Write\n    content: x\n"
        "  - id: pack\n    type: io.kestra.plugin.compress.ArchiveCompress\n    algorithm: CPIO\n"
        '    from:\n      x.txt: "{{ outputs.w.uri }}"\n'
    )
    assert final.state is State.FAILED
    assert "CPIO archives are not available in Weir; use ZIP, JAR or TAR" in flows.logs(final)
