"""Which module of ``controlplane.tasks`` implements each task model of
``controlplane.spec.plugins`` (keyed ``<model module>.<model class>``).

The engine reads this to import only the implementations a flow runs. Generated from the
registered implementations; after adding one, regenerate it with
``python -m controlplane.tasks.index`` (a unit test fails while it is out of date).
"""

from __future__ import annotations

import sys
from pathlib import Path

IMPLEMENTATIONS: dict[str, str] = {
    "admin.DeleteFiles": "admin",
    "admin.DownloadFiles": "admin",
    "admin.LogFetch": "admin",
    "admin.PurgeExecutions": "admin",
    "admin.PurgeKV": "admin",
    "admin.PurgeLogs": "admin",
    "admin.StateDelete": "state",
    "admin.StateGet": "state",
    "admin.StateSet": "state",
    "admin.TemplatedTask": "admin",
    "admin.UploadFiles": "admin",
    "alerting.LineExecution": "alerting",
    "alerting.OpsgenieAlert": "alerting",
    "alerting.OpsgenieExecution": "alerting",
    "alerting.PagerDutyAlert": "alerting",
    "alerting.PagerDutyExecution": "alerting",
    "alerting.SentryAlert": "alerting",
    "alerting.SentryExecution": "alerting",
    "alerting.TelegramExecution": "alerting",
    "alerting.TelegramSend": "alerting",
    "alerting.ZendutyAlert": "alerting",
    "alerting.ZendutyExecution": "alerting",
    "alerting.ZulipExecution": "alerting",
    "alerting.ZulipIncomingWebhook": "alerting",
    "ansible.AnsibleCLI": "ansible",
    "aws.AwsCLI": "aws_cli",
    "aws.S3Copy": "aws_s3",
    "aws.S3CreateBucket": "aws_s3",
    "aws.S3Delete": "aws_s3",
    "aws.S3DeleteList": "aws_s3",
    "aws.S3Download": "aws_s3",
    "aws.S3Downloads": "aws_s3",
    "aws.S3List": "aws_s3",
    "aws.S3Upload": "aws_s3",
    "aws_services.DynamoDbDeleteItem": "aws_services",
    "aws_services.DynamoDbGetItem": "aws_services",
    "aws_services.DynamoDbPutItem": "aws_services",
    "aws_services.DynamoDbQuery": "aws_services",
    "aws_services.DynamoDbScan": "aws_services",
    "aws_services.EventBridgePutEvents": "aws_services",
    "aws_services.KinesisPutRecords": "aws_services",
    "aws_services.SnsPublish": "aws_services",
    "compress.ArchiveCompress": "compress",
    "compress.ArchiveDecompress": "compress",
    "compress.FileCompress": "compress",
    "compress.FileDecompress": "compress",
    "core.Assert": "core",
    "core.Echo": "core",
    "core.Fail": "core",
    "core.HttpDownload": "http",
    "core.HttpRequest": "http",
    "core.KvDelete": "kv",
    "core.KvGet": "kv",
    "core.KvGetKeys": "kv",
    "core.KvSet": "kv",
    "core.Log": "core",
    "core.OutputValues": "core",
    "core.PurgeCurrentExecutionFiles": "core",
    "core.Return": "core",
    "core.SetLabels": "core",
    "core.Sleep": "core",
    "dbt.DbtBuild": "dbt",
    "dbt.DbtCLI": "dbt",
    "dbt.DbtCompile": "dbt",
    "dbt.DbtDeps": "dbt",
    "dbt.DbtFreshness": "dbt",
    "dbt.DbtList": "dbt",
    "dbt.DbtRun": "dbt",
    "dbt.DbtSeed": "dbt",
    "dbt.DbtSetup": "dbt",
    "dbt.DbtSnapshot": "dbt",
    "dbt.DbtTest": "dbt",
    "docker.DockerBuild": "docker",
    "docker.DockerRun": "docker",
    "foreachitem.ForEachItemMerge": "foreachitem",
    "foreachitem.ForEachItemSplit": "foreachitem",
    "gcp.BigQueryCreateDataset": "gcp_bigquery",
    "gcp.BigQueryCreateTable": "gcp_bigquery",
    "gcp.BigQueryDeleteTable": "gcp_bigquery",
    "gcp.BigQueryLoad": "gcp_bigquery",
    "gcp.BigQueryQuery": "gcp_bigquery",
    "gcp.GcsCopy": "gcp_gcs",
    "gcp.GcsCreateBucket": "gcp_gcs",
    "gcp.GcsDelete": "gcp_gcs",
    "gcp.GcsDownload": "gcp_gcs",
    "gcp.GcsDownloads": "gcp_gcs",
    "gcp.GcsList": "gcp_gcs",
    "gcp.GcsUpload": "gcp_gcs",
    "git.Clone": "git.clone",
    "git.PushFlows": "git.push",
    "git.Sync": "git.sync",
    "git.SyncFlows": "git.sync",
    "git.SyncNamespaceFiles": "git.sync",
    "github.GitHubIssueComment": "github",
    "github.GitHubIssueCreate": "github",
    "github.GitHubRepositoriesSearch": "github",
    "github.GitHubRunWorkflow": "github",
    "gitops.Reconcile": "gitops",
    "itsm.JenkinsJobBuild": "itsm",
    "itsm.JenkinsJobInfo": "itsm",
    "itsm.JiraCreate": "itsm",
    "itsm.JiraCreateComment": "itsm",
    "itsm.JiraUpdateFields": "itsm",
    "itsm.ServiceNowDelete": "itsm",
    "itsm.ServiceNowGet": "itsm",
    "itsm.ServiceNowPost": "itsm",
    "itsm.ServiceNowUpdate": "itsm",
    "jdbc.DuckDbQueries": "jdbc.embedded",
    "jdbc.DuckDbQuery": "jdbc.embedded",
    "jdbc.PostgresCopyIn": "jdbc.postgresql_copy",
    "jdbc.PostgresCopyOut": "jdbc.postgresql_copy",
    "jdbc.PostgresQueries": "jdbc.postgresql",
    "jdbc.PostgresQuery": "jdbc.postgresql",
    "jdbc.SqliteQueries": "jdbc.embedded",
    "jdbc.SqliteQuery": "jdbc.embedded",
    "kubernetes.Apply": "kubernetes.kubectl",
    "kubernetes.Delete": "kubernetes.kubectl",
    "kubernetes.Get": "kubernetes.kubectl",
    "kubernetes.Patch": "kubernetes.kubectl",
    "kubernetes.PodCreate": "kubernetes.podcreate",
    "kubernetes.Restart": "kubernetes.kubectl",
    "llm.AnthropicChatCompletion": "llm",
    "llm.DeepSeekChatCompletion": "llm",
    "llm.PerplexityChatCompletion": "llm",
    "mail.MailSend": "mail",
    "notifications.DiscordExecution": "notifications.services",
    "notifications.DiscordIncomingWebhook": "notifications.services",
    "notifications.GoogleChatExecution": "notifications.services",
    "notifications.GoogleChatIncomingWebhook": "notifications.services",
    "notifications.SlackExecution": "notifications.services",
    "notifications.SlackIncomingWebhook": "notifications.services",
    "notifications.TeamsExecution": "notifications.services",
    "notifications.TeamsIncomingWebhook": "notifications.services",
    "notifications.WebhookExecution": "notifications.services",
    "odoo.OdooQuery": "odoo",
    "openai.ChatCompletion": "openai",
    "redis.RedisDelete": "redis",
    "redis.RedisGet": "redis",
    "redis.RedisListPop": "redis",
    "redis.RedisListPush": "redis",
    "redis.RedisSet": "redis",
    "scripts.PythonCommands": "scripts",
    "scripts.PythonScript": "scripts",
    "scripts.ShellCommands": "scripts",
    "scripts.ShellScript": "scripts",
    "serdes.CsvToIon": "serdes",
    "serdes.IonToCsv": "serdes",
    "serdes.IonToJson": "serdes",
    "serdes.IonToYaml": "serdes",
    "serdes.JsonToIon": "serdes",
    "serdes.JsonToJsonl": "serdes",
    "serdes.JsonToYaml": "serdes",
    "serdes.YamlToIon": "serdes",
    "serdes.YamlToJson": "serdes",
    "serdes_files.AvroToIon": "serdes_files",
    "serdes_files.ExcelToIon": "serdes_files",
    "serdes_files.IonToAvro": "serdes_files",
    "serdes_files.IonToExcel": "serdes_files",
    "storage.Concat": "storage",
    "storage.DeduplicateItems": "storage",
    "storage.Delete": "storage",
    "storage.FilterItems": "storage",
    "storage.LocalFiles": "storage",
    "storage.Reverse": "storage",
    "storage.Size": "storage",
    "storage.Split": "storage",
    "storage.Write": "storage",
    "syncs.AirbyteCheckStatus": "airbyte",
    "syncs.AirbyteCloudReset": "airbyte",
    "syncs.AirbyteCloudSync": "airbyte",
    "syncs.AirbyteSync": "airbyte",
    "syncs.DbtCloudCheckStatus": "dbt_cloud",
    "syncs.DbtCloudTriggerRun": "dbt_cloud",
    "syncs.FivetranSync": "fivetran",
    "syncs.HightouchSync": "hightouch",
    "terraform.TerraformCLI": "terraform",
}


def current() -> dict[str, str]:
    """The index of every implementation registered once all task modules are imported."""
    from controlplane.engine.runnable import implemented, runner_for
    from controlplane.tasks import key

    found: dict[str, str] = {}
    for model in implemented():
        runner = runner_for(model)
        if runner is not None and runner.__module__.startswith("controlplane.tasks."):
            found[key(model)] = runner.__module__.removeprefix("controlplane.tasks.")
    return dict(sorted(found.items()))


def main() -> int:
    path = Path(__file__)
    lines = path.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("IMPLEMENTATIONS:"))
    end = start if lines[start].rstrip().endswith("{}") else lines.index("}\n", start)
    entries = [f'    "{name}": "{module}",\n' for name, module in current().items()]
    text = "IMPLEMENTATIONS: dict[str, str] = {\n" + "".join(entries) + "}\n"
    path.write_text("".join(lines[:start]) + text + "".join(lines[end + 1 :]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
