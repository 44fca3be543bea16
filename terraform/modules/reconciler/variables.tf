variable "repository_url" {
  description = "The Git repository to reconcile from: an https:// URL (with `token_secret` when private), or ssh:// / git@host:path with `private_key_secret`."
  type        = string

  validation {
    condition     = can(regex("^(https?|ssh|git|file)://|^[^@/]+@[^:]+:", var.repository_url))
    error_message = "repository_url is a Git URL such as https://github.com/acme/weir-gitops.git or git@github.com:acme/weir-gitops.git; put no credentials in it, name a secret in token_secret instead."
  }

  validation {
    condition     = !can(regex("^https?://[^/]*@", var.repository_url))
    error_message = "repository_url holds credentials; remove them and name the secret that holds the token in token_secret."
  }
}

variable "branch" {
  description = "The branch to reconcile from."
  type        = string
  default     = "main"
}

variable "token_secret" {
  description = "The secret of the reconciler's namespace that holds an access token for an https repository, such as GITHUB_TOKEN; null for a public repository."
  type        = string
  default     = null
}

variable "username" {
  description = "The user name sent with the token; most hosts take any (GitHub, GitLab), Bitbucket wants the account's."
  type        = string
  default     = null
}

variable "private_key_secret" {
  description = "The secret holding an SSH private key, for an ssh repository; null otherwise."
  type        = string
  default     = null
}

variable "namespaces" {
  description = <<-EOT
    What to reconcile, by target namespace: the repository folder of its flows
    (`flows_directory`) and of its namespace files (`files_directory`), each optional but not
    both null. With `include_child_namespaces`, subfolders of the flows folder hold the flows of
    child namespaces (`team/etl/x.yaml` goes to `<namespace>.etl`).
  EOT
  type = map(object({
    flows_directory          = optional(string)
    files_directory          = optional(string)
    include_child_namespaces = optional(bool, false)
  }))

  validation {
    condition     = length(var.namespaces) > 0
    error_message = "namespaces needs at least one target namespace."
  }

  validation {
    condition     = alltrue([for name in keys(var.namespaces) : can(regex("^[a-z0-9][a-z0-9_-]*(\\.[a-z0-9][a-z0-9_-]*)*$", name))])
    error_message = "Each key of namespaces is a namespace, such as company.team."
  }

  validation {
    condition     = alltrue([for target in values(var.namespaces) : target.flows_directory != null || target.files_directory != null])
    error_message = "Each target namespace needs flows_directory, files_directory, or both."
  }

  validation {
    condition     = length(distinct([for name in keys(var.namespaces) : replace(name, ".", "_")])) == length(var.namespaces)
    error_message = "Two target namespaces differ only by `.` and `_`; their sync tasks would have the same id."
  }
}

variable "interval" {
  description = "How often the reconciler runs, as a five-field cron such as \"*/5 * * * *\" (every five minutes)."
  type        = string
  default     = "*/5 * * * *"

  validation {
    condition     = can(regex("^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|\\S+\\s+\\S+\\s+\\S+\\s+\\S+\\s+\\S+)$", trimspace(var.interval)))
    error_message = "interval is a five-field cron (minute hour day-of-month month day-of-week), such as \"*/5 * * * *\", or a macro such as @hourly."
  }
}

variable "delete" {
  description = "Whether a flow or file the repository no longer has is deleted from its namespace. Objects another manager owns (Terraform, another repository) are never touched, nor the reconciler itself; unmanaged ones are."
  type        = bool
  default     = false
}

variable "dry_run" {
  description = "Only compute and log what would change, writing nothing."
  type        = bool
  default     = false
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
