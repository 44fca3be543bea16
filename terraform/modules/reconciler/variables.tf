variable "repository" {
  description = "The desired-state repository (weir.yaml, namespaces/<namespace>/...): an https:// URL (with `git_password_secret` when private), ssh:// or git@host:path (the workers' SSH keys), file://, or a path on the workers."
  type        = string

  validation {
    condition     = trimspace(var.repository) != ""
    error_message = "repository is a Git URL such as https://github.com/acme/weir-gitops.git, or a path on the workers."
  }

  validation {
    condition     = !can(regex("^https?://[^/]*@", var.repository))
    error_message = "repository holds credentials; remove them and name the secret that holds the token in git_password_secret."
  }
}

variable "branch" {
  description = "The branch (or tag, or commit) to apply; null for the remote's HEAD."
  type        = string
  default     = "main"
}

variable "path" {
  description = "The directory of the repository holding weir.yaml; \"\" for its root."
  type        = string
  default     = ""
}

variable "server" {
  description = "The Weir API the reconciler writes to, as seen from the workers: by default the kube-DNS name of Weir's Service."
  type        = string
  default     = "http://weir.weir-system.svc.cluster.local:8080"

  validation {
    condition     = can(regex("^https?://", var.server))
    error_message = "server is the http(s) URL of a Weir server, such as http://weir.weir-system.svc.cluster.local:8080."
  }
}

variable "token_secret" {
  description = "The secret of the reconciler's namespace (or a parent) that holds a Weir API token, for a server that requires tokens (any server off loopback); null to send none."
  type        = string
  default     = null
}

variable "git_username" {
  description = "The user name sent with the Git access token; most hosts take any (GitHub, GitLab), Bitbucket wants the account's. Default: `git`."
  type        = string
  default     = null
}

variable "git_password_secret" {
  description = "The secret holding an access token (or password) for an https repository, such as GITHUB_TOKEN; null for a public one."
  type        = string
  default     = null
}

variable "environment" {
  description = "An environment declared in weir.yaml, whose namespace overrides apply; null for none."
  type        = string
  default     = null
}

variable "prune" {
  description = "Whether what the repository no longer declares is deleted (only what this source manages, never in a protected namespace); null follows weir.yaml's `prune`."
  type        = bool
  default     = null
}

variable "dry_run" {
  description = "Only plan and log what would change, writing nothing."
  type        = bool
  default     = false
}

variable "schedule" {
  description = "How often the reconciler runs, as a five-field cron such as \"*/5 * * * *\" (every five minutes); null for no schedule."
  type        = string
  default     = "*/5 * * * *"

  validation {
    condition     = var.schedule == null || can(regex("^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|\\S+\\s+\\S+\\s+\\S+\\s+\\S+\\s+\\S+)$", trimspace(coalesce(var.schedule, "-"))))
    error_message = "schedule is a five-field cron (minute hour day-of-month month day-of-week), such as \"*/5 * * * *\", or a macro such as @hourly."
  }
}

variable "webhook_key" {
  description = "The key of a webhook that starts a reconcile (point the repository's push hook at `POST /api/v1/executions/webhook/<namespace>/<flow_id>/<key>`); null for none. Whoever reads the flow sees it."
  type        = string
  default     = null

  validation {
    condition     = var.webhook_key == null || can(regex("^[A-Za-z0-9_-]{16,}$", coalesce(var.webhook_key, "-")))
    error_message = "webhook_key is at least 16 letters, digits, `_` or `-`: anyone who knows it can start a reconcile."
  }
}

variable "namespace" {
  description = "The namespace the reconciler flow lives in; `system` is never pruned."
  type        = string
  default     = "system"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]*(\\.[a-z0-9][a-z0-9_-]*)*$", var.namespace))
    error_message = "namespace must be lowercase parts of letters, digits, `_` and `-`, separated by dots, such as system."
  }
}

variable "flow_id" {
  description = "The reconciler flow's id."
  type        = string
  default     = "gitops_reconcile"

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9._-]*$", var.flow_id)) && length(var.flow_id) <= 100
    error_message = "flow_id must start with a letter or digit and hold only letters, digits, `.`, `_` and `-` (at most 100 characters)."
  }
}
