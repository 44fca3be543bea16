locals {
  # How every sync task reaches the repository; a credential is read from a secret when it runs.
  remote = { for k, v in {
    url        = var.repository_url
    branch     = var.branch
    username   = var.username
    password   = var.token_secret == null ? null : "{{ secret('${var.token_secret}') }}"
    privateKey = var.private_key_secret == null ? null : "{{ secret('${var.private_key_secret}') }}"
    delete     = var.delete
    dryRun     = var.dry_run
  } : k => v if v != null }

  # The sync tasks write to the control plane from inside Weir's worker: they need no API address.
  syncs = flatten([
    for name, target in var.namespaces : [
      target.flows_directory == null ? [] : [merge(local.remote, {
        id                     = "flows_${replace(name, ".", "_")}"
        type                   = "io.kestra.plugin.git.SyncFlows"
        targetNamespace        = name
        gitDirectory           = target.flows_directory
        includeChildNamespaces = target.include_child_namespaces
      })],
      target.files_directory == null ? [] : [merge(local.remote, {
        id           = "files_${replace(name, ".", "_")}"
        type         = "io.kestra.plugin.git.SyncNamespaceFiles"
        namespace    = name
        gitDirectory = target.files_directory
      })],
    ]
  ])

  flow = {
    id          = var.flow_id
    namespace   = var.namespace
    description = "Makes flows and namespace files equal to ${var.repository_url} (${var.branch})."
    labels      = { purpose = "gitops" }
    # One reconcile at a time: a run that is still going makes the next one cancel itself.
    concurrency = { limit = 1, behavior = "CANCEL" }
    tasks       = local.syncs
    triggers = [{
      id   = "every_interval"
      type = "io.kestra.plugin.core.trigger.Schedule"
      cron = trimspace(var.interval)
    }]
  }
}

resource "weir_flow" "this" {
  namespace = var.namespace
  flow_id   = var.flow_id
  content   = yamlencode(local.flow)
}
