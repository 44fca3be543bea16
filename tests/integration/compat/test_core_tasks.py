"""Kestra core tasks Weir added, run on real flow shapes: internal-storage tasks, log.Fetch,
the purge tasks, namespace files, PurgeKV and TemplatedTask; flow.Template is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from controlplane.engine.model import State
from controlplane.engine.ports import NamespaceRecord
from controlplane.spec.validate import validate_file
from controlplane.tasks.ion_text import read_values
from tests.integration.compat.conftest import Flows

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus" / "kestra-flows"
VALIDS = "kestra-io__kestra__core__src__test__resources__flows__valids__"


def _read(flows: Flows, uri: str) -> bytes:
    with flows.store.files.open(uri) as stream:
        return stream.read()


def _output(execution: object, task_id: str) -> dict[str, object]:
    runs = [r for r in execution.task_runs if r.task_id == task_id]  # type: ignore[attr-defined]
    return runs[-1].outputs  # type: ignore[no-any-return]


STORAGE = """
id: storage
namespace: company.team
tasks:
  - id: first
    type: io.kestra.plugin.core.storage.Write
    content: "{id:1,kind:\\"a\\"}\\n{id:2,kind:\\"b\\"}\\n"
  - id: second
    type: io.kestra.plugin.core.storage.Write
    content: "{id:3,kind:\\"a\\"}\\n{id:1,kind:\\"c\\"}\\n"
  - id: concat
    type: io.kestra.plugin.core.storage.Concat
    files:
      - "{{ outputs.first.uri }}"
      - "{{ outputs.second.uri }}"
    extension: .ion
  - id: size
    type: io.kestra.plugin.core.storage.Size
    uri: "{{ outputs.concat.uri }}"
  - id: only_a
    type: io.kestra.plugin.core.storage.FilterItems
    from: "{{ outputs.concat.uri }}"
    filterCondition: "{{ kind == 'a' }}"
  - id: dedup
    type: io.kestra.plugin.core.storage.DeduplicateItems
    from: "{{ outputs.concat.uri }}"
    expr: "{{ id }}"
  - id: reverse
    type: io.kestra.plugin.core.storage.Reverse
    from: "{{ outputs.concat.uri }}"
  - id: split
    type: io.kestra.plugin.core.storage.Split
    from: "{{ outputs.concat.uri }}"
    rows: 3
  - id: delete
    type: io.kestra.plugin.core.storage.Delete
    uri: "{{ outputs.first.uri }}"
"""


def test_storage_tasks_write_concat_filter_deduplicate_reverse_split_and_delete(
    flows: Flows,
) -> None:
    final = flows.run(STORAGE)
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    concat = _read(flows, str(_output(final, "concat")["uri"])).decode()
    assert [v["id"] for v in read_values(concat)] == [1, 2, 3, 1]
    assert _output(final, "size")["size"] == len(concat.encode())
    only_a = _read(flows, str(_output(final, "only_a")["uri"])).decode()
    assert [v["id"] for v in read_values(only_a)] == [1, 3]
    assert _output(final, "only_a")["droppedItemsTotal"] == 2
    dedup = _read(flows, str(_output(final, "dedup")["uri"])).decode()
    assert [(v["id"], v["kind"]) for v in read_values(dedup)] == [(2, "b"), (3, "a"), (1, "c")]
    reverse = _read(flows, str(_output(final, "reverse")["uri"])).decode()
    assert [v["id"] for v in read_values(reverse)] == [1, 3, 2, 1]
    parts = [_read(flows, str(uri)).decode() for uri in _output(final, "split")["uris"]]  # type: ignore[attr-defined]
    assert [len(list(read_values(part))) for part in parts] == [3, 1]
    assert _output(final, "delete")["deleted"] is True
    assert not flows.store.files.exists(str(_output(final, "first")["uri"]))


def test_fetch_gives_the_logs_of_the_named_tasks(flows: Flows) -> None:
    final = flows.run((CORPUS / f"{VALIDS}get-log-taskid.yaml").read_text())
    assert final.state is State.SUCCESS
    fetched = _output(final, "get-log-task")
    assert fetched["size"] == 1
    (entry,) = read_values(_read(flows, str(fetched["uri"])).decode())
    assert (entry["taskId"], entry["message"]) == ("task-1", "task 1")


def test_local_files_write_inputs_and_store_outputs_in_a_working_directory(flows: Flows) -> None:
    final = flows.run((CORPUS / f"{VALIDS}working-directory.yaml").read_text(), {"failed": "false"})
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    uri = str(_output(final, "2_end")["value"])
    assert uri.startswith("kestra://")
    stored = _read(flows, str(_output(final, "second")["uris"]["out/stay.txt"]))  # type: ignore[index]
    first = next(r for r in final.task_runs if r.task_id == "first")
    assert stored.decode() == first.id


# The shape of kestra-io/blueprints flows/purge-disk-space-interactively.yaml, with the dates.
PURGE = """
id: purge
namespace: company.admin
tasks:
  - id: purge_logs
    type: io.kestra.plugin.core.log.PurgeLogs
    namespace: company.team
    endDate: "{{ now() }}"
  - id: purge_executions
    type: io.kestra.plugin.core.execution.PurgeExecutions
    namespace: company.team
    endDate: "{{ now() }}"
    purgeLog: false
"""


def test_purge_tasks_remove_ended_executions_of_the_namespace_with_their_files(
    flows: Flows,
) -> None:
    old = flows.run(STORAGE)
    assert old.state is State.SUCCESS
    with flows.store.unit() as repos:  # the team lets its admin namespace purge it
        allowed = NamespaceRecord("company.team", None, {}, {}, None, 0, ("company.admin",))
        repos.namespaces.update_namespace(allowed)
    final = flows.run(PURGE)
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    assert _output(final, "purge_executions")["executionsCount"] == 1
    assert _output(final, "purge_executions")["storagesCount"] == 7
    with flows.store.unit() as repos:
        assert repos.executions.read_execution(old.id) is None
        assert repos.executions.read_execution(final.id) is not None
    assert not flows.store.files.exists(str(_output(old, "concat")["uri"]))


NAMESPACE_FILES = """
id: ns-files
namespace: company.team
tasks:
  - id: write
    type: io.kestra.plugin.core.storage.Write
    content: "select 1"
    extension: .sql
  - id: upload
    type: io.kestra.plugin.core.namespace.UploadFiles
    filesMap:
      queries/one.sql: "{{ outputs.write.uri }}"
      queries/two.sql: "{{ outputs.write.uri }}"
  - id: download
    type: io.kestra.plugin.core.namespace.DownloadFiles
    namespace: company.team
    files:
      - "/queries/**"
  - id: delete
    type: io.kestra.plugin.core.namespace.DeleteFiles
    namespace: company.team
    files: /queries/one.*
"""


def test_namespace_files_are_uploaded_downloaded_and_deleted(flows: Flows) -> None:
    final = flows.run(NAMESPACE_FILES)
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    downloaded = _output(final, "download")["files"]
    assert sorted(downloaded) == ["/queries/one.sql", "/queries/two.sql"]  # type: ignore[arg-type]
    assert _read(flows, downloaded["/queries/two.sql"]) == b"select 1"  # type: ignore[index]
    assert _output(final, "delete")["files"] == ["/queries/one.sql"]
    with flows.store.unit() as repos:
        left = [f.path for f in repos.namespace_files.list_namespace_files("company.team")]
    assert [p.lstrip("/") for p in left] == ["queries/two.sql"]


def test_purge_kv_removes_expired_pairs_only(flows: Flows) -> None:
    with flows.store.unit() as repos:
        past = datetime.now(UTC) - timedelta(seconds=1)
        repos.kv.update_kv("company.team", "stale", "x", "STRING", past)
        repos.kv.update_kv("company.team", "fresh", "y", "STRING", None)
    final = flows.run(
        "id: kv\nnamespace: company.team\ntasks:\n"
        "  - id: purge\n    type: io.kestra.plugin.core.kv.PurgeKV\n"
        "    namespaces: [company.team]\n"
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    assert _output(final, "purge")["size"] == 1
    with flows.store.unit() as repos:
        assert repos.kv.list_kv_keys("company.team") == ["fresh"]


def test_templated_task_runs_the_task_its_spec_renders(flows: Flows) -> None:
    final = flows.run(
        "id: templated\nnamespace: company.team\n"
        "inputs:\n  - id: kind\n    type: STRING\n    defaults: Return\n"
        "tasks:\n  - id: dynamic\n    type: io.kestra.plugin.core.templating.TemplatedTask\n"
        "    spec: |\n      type: io.kestra.plugin.core.debug.{{ inputs.kind }}\n"
        "      format: made by {{ task.id }}\n"
    )
    assert final.state is State.SUCCESS, flows.logs(final, "ERROR")
    assert _output(final, "dynamic")["value"] == "made by dynamic"


def test_a_flow_template_is_refused_with_the_replacement() -> None:
    flow = (
        CORPUS
        / "kestra-io__kestra__core__src__test__resources__flows__templates__with-template.yaml"
    )
    result = validate_file(flow)
    assert not result.ok
    assert any("put the template's tasks in a subflow" in p.message for p in result.problems)
