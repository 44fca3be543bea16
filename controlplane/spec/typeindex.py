"""Which module of ``controlplane.spec.plugins`` registers each type name (aliases included).

The registry reads this to import only the modules a flow uses. Generated from the registered
types; after adding or renaming a type, regenerate it with ``python -m controlplane.spec.typeindex``
(a unit test fails while it is out of date).
"""

from __future__ import annotations

import sys
from pathlib import Path

MODULES: dict[str, dict[str, str]] = {
    "task": {
        "io.kestra.core.tasks.flows.ForEachItem": "foreachitem",
        "io.kestra.core.tasks.flows.Subflow": "flow",
        "io.kestra.plugin.airbyte.cloud.jobs.Reset": "syncs",
        "io.kestra.plugin.airbyte.cloud.jobs.Sync": "syncs",
        "io.kestra.plugin.airbyte.connections.CheckStatus": "syncs",
        "io.kestra.plugin.airbyte.connections.Sync": "syncs",
        "io.kestra.plugin.aws.cli.AwsCLI": "aws",
        "io.kestra.plugin.aws.dynamodb.DeleteItem": "aws_services",
        "io.kestra.plugin.aws.dynamodb.GetItem": "aws_services",
        "io.kestra.plugin.aws.dynamodb.PutItem": "aws_services",
        "io.kestra.plugin.aws.dynamodb.Query": "aws_services",
        "io.kestra.plugin.aws.dynamodb.Scan": "aws_services",
        "io.kestra.plugin.aws.eventbridge.PutEvents": "aws_services",
        "io.kestra.plugin.aws.kinesis.PutRecords": "aws_services",
        "io.kestra.plugin.aws.s3.Copy": "aws",
        "io.kestra.plugin.aws.s3.CreateBucket": "aws",
        "io.kestra.plugin.aws.s3.Delete": "aws",
        "io.kestra.plugin.aws.s3.DeleteList": "aws",
        "io.kestra.plugin.aws.s3.Download": "aws",
        "io.kestra.plugin.aws.s3.Downloads": "aws",
        "io.kestra.plugin.aws.s3.List": "aws",
        "io.kestra.plugin.aws.s3.Upload": "aws",
        "io.kestra.plugin.aws.sns.Publish": "aws_services",
        "io.kestra.plugin.compress.ArchiveCompress": "compress",
        "io.kestra.plugin.compress.ArchiveDecompress": "compress",
        "io.kestra.plugin.compress.FileCompress": "compress",
        "io.kestra.plugin.compress.FileDecompress": "compress",
        "io.kestra.plugin.core.debug.Echo": "core",
        "io.kestra.plugin.core.debug.Return": "core",
        "io.kestra.plugin.core.execution.Assert": "core",
        "io.kestra.plugin.core.execution.Exit": "core",
        "io.kestra.plugin.core.execution.Fail": "core",
        "io.kestra.plugin.core.execution.Labels": "core",
        "io.kestra.plugin.core.execution.PurgeExecutions": "admin",
        "io.kestra.plugin.core.flow.AllowFailure": "flow",
        "io.kestra.plugin.core.flow.Dag": "flow",
        "io.kestra.plugin.core.flow.EachParallel": "flow",
        "io.kestra.plugin.core.flow.EachSequential": "flow",
        "io.kestra.plugin.core.flow.ForEach": "flow",
        "io.kestra.plugin.core.flow.ForEachItem": "foreachitem",
        "io.kestra.plugin.core.flow.If": "flow",
        "io.kestra.plugin.core.flow.Loop": "loop",
        "io.kestra.plugin.core.flow.LoopUntil": "flow",
        "io.kestra.plugin.core.flow.Parallel": "flow",
        "io.kestra.plugin.core.flow.Pause": "flow",
        "io.kestra.plugin.core.flow.Sequential": "flow",
        "io.kestra.plugin.core.flow.Sleep": "core",
        "io.kestra.plugin.core.flow.Subflow": "flow",
        "io.kestra.plugin.core.flow.Switch": "flow",
        "io.kestra.plugin.core.flow.Template": "admin",
        "io.kestra.plugin.core.flow.WaitFor": "flow",
        "io.kestra.plugin.core.flow.WorkingDirectory": "flow",
        "io.kestra.plugin.core.http.Download": "core",
        "io.kestra.plugin.core.http.Request": "core",
        "io.kestra.plugin.core.kv.Delete": "core",
        "io.kestra.plugin.core.kv.Get": "core",
        "io.kestra.plugin.core.kv.GetKeys": "core",
        "io.kestra.plugin.core.kv.PurgeKV": "admin",
        "io.kestra.plugin.core.kv.Set": "core",
        "io.kestra.plugin.core.log.Fetch": "admin",
        "io.kestra.plugin.core.log.Log": "core",
        "io.kestra.plugin.core.log.PurgeLogs": "admin",
        "io.kestra.plugin.core.namespace.DeleteFiles": "admin",
        "io.kestra.plugin.core.namespace.DownloadFiles": "admin",
        "io.kestra.plugin.core.namespace.UploadFiles": "admin",
        "io.kestra.plugin.core.output.OutputValues": "core",
        "io.kestra.plugin.core.state.Delete": "admin",
        "io.kestra.plugin.core.state.Get": "admin",
        "io.kestra.plugin.core.state.Set": "admin",
        "io.kestra.plugin.core.storage.Concat": "storage",
        "io.kestra.plugin.core.storage.DeduplicateItems": "storage",
        "io.kestra.plugin.core.storage.Delete": "storage",
        "io.kestra.plugin.core.storage.FilterItems": "storage",
        "io.kestra.plugin.core.storage.LocalFiles": "storage",
        "io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles": "core",
        "io.kestra.plugin.core.storage.PurgeExecution": "core",
        "io.kestra.plugin.core.storage.Reverse": "storage",
        "io.kestra.plugin.core.storage.Size": "storage",
        "io.kestra.plugin.core.storage.Split": "storage",
        "io.kestra.plugin.core.storage.Write": "storage",
        "io.kestra.plugin.core.templating.TemplatedTask": "admin",
        "io.kestra.plugin.dbt.cli.Build": "dbt",
        "io.kestra.plugin.dbt.cli.Compile": "dbt",
        "io.kestra.plugin.dbt.cli.DbtCLI": "dbt",
        "io.kestra.plugin.dbt.cli.Deps": "dbt",
        "io.kestra.plugin.dbt.cli.Freshness": "dbt",
        "io.kestra.plugin.dbt.cli.List": "dbt",
        "io.kestra.plugin.dbt.cli.Run": "dbt",
        "io.kestra.plugin.dbt.cli.Seed": "dbt",
        "io.kestra.plugin.dbt.cli.Setup": "dbt",
        "io.kestra.plugin.dbt.cli.Snapshot": "dbt",
        "io.kestra.plugin.dbt.cli.Test": "dbt",
        "io.kestra.plugin.dbt.cloud.CheckStatus": "syncs",
        "io.kestra.plugin.dbt.cloud.TriggerRun": "syncs",
        "io.kestra.plugin.discord.DiscordExecution": "notifications",
        "io.kestra.plugin.discord.DiscordIncomingWebhook": "notifications",
        "io.kestra.plugin.docker.Build": "docker",
        "io.kestra.plugin.docker.Run": "docker",
        "io.kestra.plugin.email.MailSend": "mail",
        "io.kestra.plugin.fivetran.connectors.Sync": "syncs",
        "io.kestra.plugin.gcp.bigquery.CreateDataset": "gcp",
        "io.kestra.plugin.gcp.bigquery.CreateTable": "gcp",
        "io.kestra.plugin.gcp.bigquery.DeleteTable": "gcp",
        "io.kestra.plugin.gcp.bigquery.Load": "gcp",
        "io.kestra.plugin.gcp.bigquery.Query": "gcp",
        "io.kestra.plugin.gcp.gcs.Copy": "gcp",
        "io.kestra.plugin.gcp.gcs.CreateBucket": "gcp",
        "io.kestra.plugin.gcp.gcs.Delete": "gcp",
        "io.kestra.plugin.gcp.gcs.Download": "gcp",
        "io.kestra.plugin.gcp.gcs.Downloads": "gcp",
        "io.kestra.plugin.gcp.gcs.List": "gcp",
        "io.kestra.plugin.gcp.gcs.Upload": "gcp",
        "io.kestra.plugin.git.Clone": "git",
        "io.kestra.plugin.git.PushFlows": "git",
        "io.kestra.plugin.git.Sync": "git",
        "io.kestra.plugin.git.SyncFlows": "git",
        "io.kestra.plugin.git.SyncNamespaceFiles": "git",
        "io.kestra.plugin.googleworkspace.chat.GoogleChatExecution": "notifications",
        "io.kestra.plugin.googleworkspace.chat.GoogleChatIncomingWebhook": "notifications",
        "io.kestra.plugin.hightouch.Sync": "syncs",
        "io.kestra.plugin.jdbc.duckdb.Queries": "jdbc",
        "io.kestra.plugin.jdbc.duckdb.Query": "jdbc",
        "io.kestra.plugin.jdbc.postgresql.CopyIn": "jdbc",
        "io.kestra.plugin.jdbc.postgresql.CopyOut": "jdbc",
        "io.kestra.plugin.jdbc.postgresql.Queries": "jdbc",
        "io.kestra.plugin.jdbc.postgresql.Query": "jdbc",
        "io.kestra.plugin.jdbc.sqlite.Queries": "jdbc",
        "io.kestra.plugin.jdbc.sqlite.Query": "jdbc",
        "io.kestra.plugin.kubernetes.PodCreate": "kubernetes",
        "io.kestra.plugin.kubernetes.core.PodCreate": "kubernetes",
        "io.kestra.plugin.kubernetes.kubectl.Apply": "kubernetes",
        "io.kestra.plugin.kubernetes.kubectl.Delete": "kubernetes",
        "io.kestra.plugin.kubernetes.kubectl.Get": "kubernetes",
        "io.kestra.plugin.kubernetes.kubectl.Patch": "kubernetes",
        "io.kestra.plugin.kubernetes.kubectl.Restart": "kubernetes",
        "io.kestra.plugin.line.LineExecution": "alerting",
        "io.kestra.plugin.microsoft365.teams.TeamsExecution": "notifications",
        "io.kestra.plugin.microsoft365.teams.TeamsIncomingWebhook": "notifications",
        "io.kestra.plugin.notifications.discord.DiscordExecution": "notifications",
        "io.kestra.plugin.notifications.discord.DiscordIncomingWebhook": "notifications",
        "io.kestra.plugin.notifications.google.GoogleChatExecution": "notifications",
        "io.kestra.plugin.notifications.google.GoogleChatIncomingWebhook": "notifications",
        "io.kestra.plugin.notifications.line.LineExecution": "alerting",
        "io.kestra.plugin.notifications.mail.MailSend": "mail",
        "io.kestra.plugin.notifications.opsgenie.OpsgenieAlert": "alerting",
        "io.kestra.plugin.notifications.opsgenie.OpsgenieExecution": "alerting",
        "io.kestra.plugin.notifications.pagerduty.PagerDutyAlert": "alerting",
        "io.kestra.plugin.notifications.pagerduty.PagerDutyExecution": "alerting",
        "io.kestra.plugin.notifications.sentry.SentryAlert": "alerting",
        "io.kestra.plugin.notifications.sentry.SentryExecution": "alerting",
        "io.kestra.plugin.notifications.slack.SlackExecution": "notifications",
        "io.kestra.plugin.notifications.slack.SlackIncomingWebhook": "notifications",
        "io.kestra.plugin.notifications.teams.TeamsExecution": "notifications",
        "io.kestra.plugin.notifications.teams.TeamsIncomingWebhook": "notifications",
        "io.kestra.plugin.notifications.telegram.TelegramExecution": "alerting",
        "io.kestra.plugin.notifications.telegram.TelegramSend": "alerting",
        "io.kestra.plugin.notifications.zenduty.ZendutyAlert": "alerting",
        "io.kestra.plugin.notifications.zenduty.ZendutyExecution": "alerting",
        "io.kestra.plugin.notifications.zulip.ZulipExecution": "alerting",
        "io.kestra.plugin.notifications.zulip.ZulipIncomingWebhook": "alerting",
        "io.kestra.plugin.odoo.Query": "odoo",
        "io.kestra.plugin.openai.ChatCompletion": "openai",
        "io.kestra.plugin.opsgenie.OpsgenieAlert": "alerting",
        "io.kestra.plugin.opsgenie.OpsgenieExecution": "alerting",
        "io.kestra.plugin.pagerduty.PagerDutyAlert": "alerting",
        "io.kestra.plugin.pagerduty.PagerDutyExecution": "alerting",
        "io.kestra.plugin.scripts.python.Commands": "scripts",
        "io.kestra.plugin.scripts.python.Script": "scripts",
        "io.kestra.plugin.scripts.shell.Commands": "scripts",
        "io.kestra.plugin.scripts.shell.Script": "scripts",
        "io.kestra.plugin.sentry.SentryAlert": "alerting",
        "io.kestra.plugin.sentry.SentryExecution": "alerting",
        "io.kestra.plugin.serdes.csv.CsvReader": "serdes",
        "io.kestra.plugin.serdes.csv.CsvToIon": "serdes",
        "io.kestra.plugin.serdes.csv.CsvWriter": "serdes",
        "io.kestra.plugin.serdes.csv.IonToCsv": "serdes",
        "io.kestra.plugin.serdes.json.IonToJson": "serdes",
        "io.kestra.plugin.serdes.json.JsonReader": "serdes",
        "io.kestra.plugin.serdes.json.JsonToIon": "serdes",
        "io.kestra.plugin.serdes.json.JsonToJsonl": "serdes",
        "io.kestra.plugin.serdes.json.JsonWriter": "serdes",
        "io.kestra.plugin.serdes.yaml.IonToYaml": "serdes",
        "io.kestra.plugin.serdes.yaml.JsonToYaml": "serdes",
        "io.kestra.plugin.serdes.yaml.YamlToIon": "serdes",
        "io.kestra.plugin.serdes.yaml.YamlToJson": "serdes",
        "io.kestra.plugin.slack.SlackExecution": "notifications",
        "io.kestra.plugin.slack.SlackIncomingWebhook": "notifications",
        "io.kestra.plugin.slack.notifications.SlackExecution": "notifications",
        "io.kestra.plugin.slack.notifications.SlackIncomingWebhook": "notifications",
        "io.kestra.plugin.telegram.TelegramExecution": "alerting",
        "io.kestra.plugin.telegram.TelegramSend": "alerting",
        "io.kestra.plugin.terraform.cli.TerraformCLI": "terraform",
        "io.kestra.plugin.zenduty.ZendutyAlert": "alerting",
        "io.kestra.plugin.zenduty.ZendutyExecution": "alerting",
        "io.kestra.plugin.zulip.ZulipExecution": "alerting",
        "io.kestra.plugin.zulip.ZulipIncomingWebhook": "alerting",
        "io.weir.gitops.Reconcile": "gitops",
        "io.weir.plugin.notifications.webhook.WebhookExecution": "notifications",
    },
    "trigger": {
        "io.kestra.plugin.core.trigger.Flow": "triggers",
        "io.kestra.plugin.core.trigger.Schedule": "triggers",
        "io.kestra.plugin.core.trigger.Webhook": "triggers",
    },
    "condition": {
        "io.kestra.plugin.core.condition.DateTimeBetween": "triggers",
        "io.kestra.plugin.core.condition.DayWeek": "triggers",
        "io.kestra.plugin.core.condition.DayWeekInMonth": "triggers",
        "io.kestra.plugin.core.condition.ExecutionFlow": "triggers",
        "io.kestra.plugin.core.condition.ExecutionLabels": "triggers",
        "io.kestra.plugin.core.condition.ExecutionNamespace": "triggers",
        "io.kestra.plugin.core.condition.ExecutionOutputs": "triggers",
        "io.kestra.plugin.core.condition.ExecutionStatus": "triggers",
        "io.kestra.plugin.core.condition.Expression": "triggers",
        "io.kestra.plugin.core.condition.HasRetryAttempt": "triggers",
        "io.kestra.plugin.core.condition.MultipleCondition": "triggers",
        "io.kestra.plugin.core.condition.Not": "triggers",
        "io.kestra.plugin.core.condition.Or": "triggers",
        "io.kestra.plugin.core.condition.PublicHoliday": "triggers",
        "io.kestra.plugin.core.condition.TimeBetween": "triggers",
        "io.kestra.plugin.core.condition.Weekend": "triggers",
    },
    "taskRunner": {
        "io.kestra.plugin.core.runner.Process": "scripts",
        "io.kestra.plugin.ee.kubernetes.runner.Kubernetes": "kubernetes",
        "io.kestra.plugin.kubernetes.runner.Kubernetes": "kubernetes",
        "io.kestra.plugin.kubernetes.runner.KubernetesTaskRunner": "kubernetes",
        "io.kestra.plugin.scripts.runner.docker.Docker": "scripts",
        "io.weir.runner.Kubernetes": "kubernetes",
    },
}


def current() -> dict[str, dict[str, str]]:
    """The index of every type registered once all plugin modules are imported."""
    from controlplane.spec.registry import Kind, registry

    index: dict[str, dict[str, str]] = {}
    for kind in Kind:
        entries = index.setdefault(kind.value, {})
        for info in registry.types(kind):
            package, _, module = info.model.__module__.rpartition(".")
            if package != "controlplane.spec.plugins":
                continue  # a type of an installed plugin
            for name in (info.name, *info.aliases):
                entries[name] = module
    return {kind: dict(sorted(entries.items())) for kind, entries in index.items()}


def render(index: dict[str, dict[str, str]]) -> str:
    lines = ["MODULES: dict[str, dict[str, str]] = {"]
    for kind, entries in index.items():
        lines.append(f'    "{kind}": {{')
        lines.extend(f'        "{name}": "{module}",' for name, module in entries.items())
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> int:
    path = Path(__file__)
    lines = path.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("MODULES:"))
    end = start if lines[start].rstrip().endswith("{}") else lines.index("}\n", start)
    path.write_text("".join(lines[:start]) + render(current()) + "".join(lines[end + 1 :]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
