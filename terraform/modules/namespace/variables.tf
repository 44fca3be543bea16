variable "name" {
  description = "The namespace, dotted like `company.team.project`."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]*(\\.[a-z0-9][a-z0-9_-]*)*$", var.name)) && length(var.name) <= 150
    error_message = "name must be lowercase parts of letters, digits, `_` and `-`, separated by dots, such as company.team (at most 150 characters)."
  }
}

variable "description" {
  description = "What the namespace holds."
  type        = string
  default     = null
}

variable "variables" {
  description = "Variables every flow of the namespace (and of its children) reads as `{{ namespace.<name> }}`."
  type        = map(string)
  default     = {}
}

variable "labels" {
  description = "Labels of the namespace, such as `{ owner = \"data\" }`."
  type        = map(string)
  default     = {}
}

variable "secrets" {
  description = "Secrets by name, such as `{ DB_PASSWORD = var.db_password }`; flows read them as `{{ secret('DB_PASSWORD') }}`. Ephemeral: pass values from `ephemeral = true` variables (or ephemeral resources) and they appear in no state and no saved plan. List the names in `secret_names`; change `secrets_version` to write changed values."
  type        = map(string)
  default     = {}
  sensitive   = true
  ephemeral   = true
}

variable "secret_names" {
  description = "The names of the entries of `secrets` (Terraform cannot read the keys of an ephemeral map to create one resource per secret)."
  type        = set(string)
  default     = []

  validation {
    condition     = alltrue([for name in var.secret_names : can(regex("^[A-Za-z0-9_.-]+$", name))])
    error_message = "Secret names are letters, digits, `_`, `.` and `-`, such as DB_PASSWORD."
  }
}

variable "secrets_version" {
  description = "Bump it (1, 2, ...) to write the values of `secrets` again: Terraform cannot see a changed write-only value by itself."
  type        = number
  default     = 1
}

variable "kv" {
  description = "KV pairs by key, read by flows as `{{ kv('KEY') }}`. `type` is one of STRING (the default), NUMBER, BOOLEAN, DATETIME, DATE, DURATION, JSON; `ttl` an ISO 8601 duration such as `P7D`."
  type = map(object({
    value = string
    type  = optional(string)
    ttl   = optional(string)
  }))
  default = {}

  validation {
    condition     = alltrue([for key in keys(var.kv) : can(regex("^[A-Za-z0-9][A-Za-z0-9._-]*$", key))])
    error_message = "KV keys are letters, digits, `.`, `_` and `-`, starting with a letter or digit."
  }

  validation {
    condition = alltrue([
      for pair in values(var.kv) :
      contains(["STRING", "NUMBER", "BOOLEAN", "DATETIME", "DATE", "DURATION", "JSON"], coalesce(pair.type, "STRING"))
    ])
    error_message = "A KV type is one of STRING, NUMBER, BOOLEAN, DATETIME, DATE, DURATION, JSON."
  }
}

variable "files" {
  description = "Namespace files by path, such as `{ \"scripts/etl.py\" = file(\"etl.py\") }`: UTF-8 text the flows' scripts read."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(setintersection(keys(var.files), var.files_dir == null ? [] : fileset(var.files_dir, "**"))) == 0
    error_message = "A path is both in files and in files_dir; keep each file in one of them."
  }
}

variable "files_dir" {
  description = "A local folder whose files are all uploaded as namespace files, under the same relative paths; an edit of a file shows in the next plan."
  type        = string
  default     = null
}
