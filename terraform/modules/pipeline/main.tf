locals {
  # A secret is referenced by name; the flow reads it when it runs, so no value is in the plan.
  secret = { for name in compact(concat([
    var.ingestion.token_secret, var.ingestion.password_secret, var.ingestion.api_key_secret,
    var.ingestion.api_secret_secret, var.dbt.git_token_secret, try(var.hightouch.token_secret, null),
    try(var.failure_notice.slack_webhook_secret, null)
  ], values(var.dbt.secret_files))) : name => "{{ secret('${name}') }}" }

  # Kestra's retry policy for each step: a step's own retry, else the pipeline's.
  retry = {
    for step, r in {
      ingest    = coalesce(var.ingestion.retry, var.retry)
      transform = coalesce(var.dbt.retry, var.retry)
      activate  = var.hightouch == null ? var.retry : coalesce(var.hightouch.retry, var.retry)
    } :
    step => merge(
      { type = r.type, maxAttempts = r.max_attempts },
      r.type == "random" ? { minInterval = r.interval, maxInterval = r.max_interval } : { interval = r.interval },
      r.type == "exponential" ? { maxInterval = r.max_interval } : {},
    )
  }

  # Each step is null when it is not part of this pipeline, and left out of the tasks.
  airbyte = var.ingestion.tool != "airbyte" ? null : {
    id           = "ingest"
    type         = "io.kestra.plugin.airbyte.connections.Sync"
    url          = var.ingestion.url
    connectionId = var.ingestion.connection_id
    token        = var.ingestion.token_secret == null ? null : local.secret[var.ingestion.token_secret]
    username     = var.ingestion.username
    password     = var.ingestion.password_secret == null ? null : local.secret[var.ingestion.password_secret]
    maxDuration  = var.ingestion.max_duration
    retry        = local.retry.ingest
  }

  fivetran = var.ingestion.tool != "fivetran" ? null : {
    id          = "ingest"
    type        = "io.kestra.plugin.fivetran.connectors.Sync"
    connectorId = var.ingestion.connection_id
    apiKey      = local.secret[var.ingestion.api_key_secret]
    apiSecret   = local.secret[var.ingestion.api_secret_secret]
    baseUrl     = var.ingestion.url
    maxDuration = var.ingestion.max_duration
    retry       = local.retry.ingest
  }

  dbt = {
    type           = "io.kestra.plugin.dbt.cli.DbtCLI"
    commands       = var.dbt.commands
    profiles       = var.dbt.profiles
    projectDir     = var.dbt.project_dir
    inputFiles     = length(var.dbt.secret_files) == 0 ? null : { for file, name in var.dbt.secret_files : file => local.secret[name] }
    env            = length(var.dbt.env) == 0 ? null : var.dbt.env
    beforeCommands = length(var.dbt.before_commands) == 0 ? null : var.dbt.before_commands
    retry          = local.retry.transform
  }

  # From namespace files, dbt runs alone; from git, it runs after a clone in one working directory.
  transform_files = var.dbt.git_url != null ? null : merge(local.dbt, {
    id             = "transform"
    namespaceFiles = { enabled = true }
  })

  transform_git = var.dbt.git_url == null ? null : {
    id   = "transform"
    type = "io.kestra.plugin.core.flow.WorkingDirectory"
    tasks = [
      { for k, v in {
        id       = "clone"
        type     = "io.kestra.plugin.git.Clone"
        url      = var.dbt.git_url
        branch   = var.dbt.git_branch
        password = var.dbt.git_token_secret == null ? null : local.secret[var.dbt.git_token_secret]
      } : k => v if v != null },
      { for k, v in merge(local.dbt, { id = "dbt" }) : k => v if v != null },
    ]
  }

  activate = var.hightouch == null ? null : {
    id                    = "activate"
    type                  = "io.kestra.plugin.hightouch.Sync"
    token                 = local.secret[var.hightouch.token_secret]
    syncId                = var.hightouch.sync_id
    fullResynchronization = var.hightouch.full_resync
    maxDuration           = var.hightouch.max_duration
    retry                 = local.retry.activate
  }

  notice = var.failure_notice == null ? null : {
    id            = "notify_failure"
    type          = "io.kestra.plugin.slack.notifications.SlackExecution"
    url           = local.secret[var.failure_notice.slack_webhook_secret]
    channel       = var.failure_notice.channel
    customMessage = coalesce(var.failure_notice.message, "The ${var.flow_id} pipeline of ${var.namespace} failed.")
  }

  failure_call = var.failure_subflow == null ? null : {
    id        = "call_on_failure"
    type      = "io.kestra.plugin.core.flow.Subflow"
    namespace = var.failure_subflow.namespace
    flowId    = var.failure_subflow.flow_id
    inputs    = length(var.failure_subflow.inputs) == 0 ? null : var.failure_subflow.inputs
    wait      = var.failure_subflow.wait
  }

  errors = concat(
    [for task in [local.notice, local.failure_call] : { for k, v in task : k => v if v != null } if task != null],
    var.on_failure,
  )

  schedule = var.schedule == null ? null : {
    id       = "schedule"
    type     = "io.kestra.plugin.core.trigger.Schedule"
    cron     = trimspace(var.schedule.cron)
    timezone = var.schedule.timezone
  }

  flow = {
    id          = var.flow_id
    namespace   = var.namespace
    description = var.description
    labels      = length(var.labels) == 0 ? null : var.labels
    tasks = concat([
      for task in [local.airbyte, local.fivetran, local.transform_files, local.transform_git, local.activate] :
      { for k, v in task : k => v if v != null } if task != null
    ], var.extra_tasks)
    errors   = length(local.errors) == 0 ? null : local.errors
    triggers = local.schedule == null ? null : [{ for k, v in local.schedule : k => v if v != null }]
  }
}

resource "weir_flow" "this" {
  namespace = var.namespace
  flow_id   = var.flow_id
  content   = yamlencode({ for k, v in local.flow : k => v if v != null })
}
