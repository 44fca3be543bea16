variable "namespace" {
  description = "The namespace of the flow, such as `company.analytics`."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]*(\\.[a-z0-9][a-z0-9_-]*)*$", var.namespace))
    error_message = "namespace must be lowercase parts of letters, digits, `_` and `-`, separated by dots, such as company.analytics."
  }
}

variable "flow_id" {
  description = "The flow's id, such as `daily_crm_sync`."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9._-]*$", var.flow_id)) && length(var.flow_id) <= 100
    error_message = "flow_id must start with a letter or digit and hold only letters, digits, `.`, `_` and `-` (at most 100 characters)."
  }
}

variable "description" {
  description = "What the pipeline is for; shown in Weir's UI and API."
  type        = string
  default     = null
}

variable "labels" {
  description = "Labels of the flow and its executions, such as `{ team = \"analytics\" }`."
  type        = map(string)
  default     = {}
}

variable "ingestion" {
  description = <<-EOT
    The ingestion step. `tool` is "airbyte" (a self-hosted Airbyte connection: `url` of the
    instance, `connection_id`, and `token_secret`, or `username` with `password_secret`) or
    "fivetran" (a connector: `connection_id` is the connector id, `api_key_secret` and
    `api_secret_secret` name its credentials; `url` overrides the API's base URL). Secrets are
    named, never given: the flow reads them as {{ secret('NAME') }}. `retry` overrides the
    pipeline's `retry` for this step.
  EOT
  type = object({
    tool              = string
    connection_id     = string
    url               = optional(string)
    token_secret      = optional(string)
    username          = optional(string)
    password_secret   = optional(string)
    api_key_secret    = optional(string, "FIVETRAN_API_KEY")
    api_secret_secret = optional(string, "FIVETRAN_API_SECRET")
    max_duration      = optional(string, "PT1H")
    retry = optional(object({
      type         = optional(string, "exponential")
      max_attempts = optional(number, 3)
      interval     = optional(string, "PT1M")
      max_interval = optional(string, "PT15M")
    }))
  })

  validation {
    condition     = contains(["airbyte", "fivetran"], var.ingestion.tool)
    error_message = "ingestion.tool is \"airbyte\" or \"fivetran\"."
  }

  validation {
    condition     = can(regex("^P(\\d+D)?(T(\\d+H)?(\\d+M)?(\\d+([.,]\\d+)?S)?)?$", var.ingestion.max_duration)) && !contains(["P", "PT"], var.ingestion.max_duration)
    error_message = "ingestion.max_duration is an ISO 8601 duration such as PT2H."
  }

  validation {
    condition     = var.ingestion.tool != "airbyte" || var.ingestion.url != null
    error_message = "An Airbyte ingestion needs ingestion.url, the address of the Airbyte instance such as https://airbyte.example.com."
  }
}

variable "dbt" {
  description = <<-EOT
    The dbt step. `commands` run in order. The project comes from the namespace's files (upload
    them with the namespace module), or from `git_url` (cloned at `git_branch`, with
    `git_token_secret` for a private repository); `project_dir` is its folder inside either.
    `profiles` is the text of profiles.yml; `secret_files` writes secrets into files dbt reads,
    such as `{ "service-account.json" = "BIGQUERY_SERVICE_ACCOUNT" }`. dbt itself must be on the
    worker's PATH, or installed by `before_commands`.
  EOT
  type = object({
    commands         = optional(list(string), ["dbt deps", "dbt build"])
    profiles         = string
    project_dir      = optional(string)
    git_url          = optional(string)
    git_branch       = optional(string, "main")
    git_token_secret = optional(string)
    secret_files     = optional(map(string), {})
    env              = optional(map(string), {})
    before_commands  = optional(list(string), [])
    retry = optional(object({
      type         = optional(string, "exponential")
      max_attempts = optional(number, 3)
      interval     = optional(string, "PT1M")
      max_interval = optional(string, "PT15M")
    }))
  })

  validation {
    condition     = length(var.dbt.commands) > 0 && alltrue([for c in var.dbt.commands : startswith(trimspace(c), "dbt ")])
    error_message = "dbt.commands needs at least one command, each starting with `dbt `, such as \"dbt build\"."
  }
}

variable "hightouch" {
  description = "The reverse-ETL step: a Hightouch sync, its token named by `token_secret`. Null leaves the step out."
  type = object({
    sync_id      = number
    token_secret = optional(string, "HIGHTOUCH_TOKEN")
    full_resync  = optional(bool, false)
    max_duration = optional(string, "PT1H")
    retry = optional(object({
      type         = optional(string, "exponential")
      max_attempts = optional(number, 3)
      interval     = optional(string, "PT1M")
      max_interval = optional(string, "PT15M")
    }))
  })
  default = null

  validation {
    condition     = var.hightouch == null || can(regex("^P(\\d+D)?(T(\\d+H)?(\\d+M)?(\\d+([.,]\\d+)?S)?)?$", try(var.hightouch.max_duration, ""))) && !contains(["P", "PT"], try(var.hightouch.max_duration, ""))
    error_message = "hightouch.max_duration is an ISO 8601 duration such as PT1H."
  }
}

variable "retry" {
  description = "How each step retries after it failed: `type` constant, exponential (the wait doubles from `interval` up to `max_interval`) or random (between `interval` and `max_interval`); `max_attempts` counts the first run. A step retries on its own: a failed dbt run never runs the ingestion again."
  type = object({
    type         = optional(string, "exponential")
    max_attempts = optional(number, 3)
    interval     = optional(string, "PT1M")
    max_interval = optional(string, "PT15M")
  })
  default = {}

  validation {
    condition = alltrue([
      for r in [var.retry, var.ingestion.retry, var.dbt.retry, try(var.hightouch.retry, null)] :
      contains(["constant", "exponential", "random"], r.type) && r.max_attempts >= 1 if r != null
    ])
    error_message = "A retry's type is constant, exponential or random, and max_attempts is at least 1."
  }

  validation {
    condition = alltrue(flatten([
      for r in [var.retry, var.ingestion.retry, var.dbt.retry, try(var.hightouch.retry, null)] : [
        for d in [r.interval, r.max_interval] :
        can(regex("^P(\\d+D)?(T(\\d+H)?(\\d+M)?(\\d+([.,]\\d+)?S)?)?$", d)) && !contains(["P", "PT"], d)
      ] if r != null
    ]))
    error_message = "A retry's interval and max_interval are ISO 8601 durations such as PT30S, PT5M, PT1H or P1D."
  }
}

variable "schedule" {
  description = "When the pipeline runs: a five-field `cron` (such as \"0 6 * * *\", or @daily) in `timezone` (an IANA name such as Europe/Paris; UTC when unset). Null: only when started by hand or by another flow."
  type = object({
    cron     = string
    timezone = optional(string)
  })
  default = null

  validation {
    condition = var.schedule == null || can(regex(
      "^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|\\S+\\s+\\S+\\s+\\S+\\s+\\S+\\s+\\S+)$",
      trimspace(try(var.schedule.cron, ""))
    ))
    error_message = "schedule.cron has five fields (minute hour day-of-month month day-of-week), such as \"0 6 * * *\", or is a macro such as @daily."
  }
}

variable "failure_notice" {
  description = "Where a failure is told: a Slack incoming webhook whose URL is the secret `slack_webhook_secret`, with an optional `message`. Null: no notice."
  type = object({
    slack_webhook_secret = string
    channel              = optional(string)
    message              = optional(string)
  })
  default = null
}

variable "extra_tasks" {
  description = "More tasks, as Kestra task maps (`{ id = ..., type = ..., ... }`), run after the pipeline's own steps: a check, an export, a call to a shared subflow."
  type        = any
  default     = []
}

variable "failure_subflow" {
  description = "A shared subflow called when the pipeline fails (in `errors`, after `failure_notice`), such as a team's `notify` flow: its `namespace`, `flow_id` and the `inputs` passed (expressions welcome: `{{ flow.id }}`, `{{ execution.id }}`). Terraform's plan checks the call against the subflow's inputs. Null: none."
  type = object({
    namespace = string
    flow_id   = string
    inputs    = optional(map(string), {})
    wait      = optional(bool, true)
  })
  default = null
}

variable "on_failure" {
  description = "More tasks run when the pipeline fails, after the notice and the subflow call: any notifier (Teams, email, PagerDuty, a webhook) as Kestra task maps."
  type        = any
  default     = []
}
