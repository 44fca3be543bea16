locals {
  # The Reconcile task; credentials are read from secrets when it runs, never written here.
  reconcile = { for k, v in {
    id          = "reconcile"
    type        = "io.weir.gitops.Reconcile"
    url         = var.repository
    branch      = var.branch
    path        = var.path == "" ? null : var.path
    server      = var.server
    token       = var.token_secret == null ? null : "{{ secret('${var.token_secret}') }}"
    username    = var.git_username
    password    = var.git_password_secret == null ? null : "{{ secret('${var.git_password_secret}') }}"
    environment = var.environment
    prune       = var.prune
    dryRun      = var.dry_run ? true : null
  } : k => v if v != null }

  triggers = concat(
    var.schedule == null ? [] : [{
      id   = "schedule"
      type = "io.kestra.plugin.core.trigger.Schedule"
      cron = trimspace(var.schedule)
    }],
    var.webhook_key == null ? [] : [{
      id   = "webhook"
      type = "io.kestra.plugin.core.trigger.Webhook"
      key  = var.webhook_key
    }],
  )

  flow = { for k, v in {
    id          = var.flow_id
    namespace   = var.namespace
    description = "Makes Weir equal to ${var.repository}${var.branch == null ? "" : " (${var.branch})"}."
    labels      = { purpose = "gitops" }
    # One reconcile at a time; one started meanwhile (a push) runs right after.
    concurrency = { limit = 1, behavior = "QUEUE" }
    tasks       = [local.reconcile]
    triggers    = length(local.triggers) == 0 ? null : local.triggers
  } : k => v if v != null }
}

resource "weir_flow" "this" {
  namespace = var.namespace
  flow_id   = var.flow_id
  content   = yamlencode(local.flow)
}
