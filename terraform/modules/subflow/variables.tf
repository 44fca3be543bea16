variable "namespace" {
  description = "The subflow's namespace, such as `company.shared`."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]*(\\.[a-z0-9][a-z0-9_-]*)*$", var.namespace))
    error_message = "namespace must be lowercase parts of letters, digits, `_` and `-`, separated by dots, such as company.shared."
  }
}

variable "flow_id" {
  description = "The subflow's id, such as `load_to_warehouse`; callers name it in their Subflow task."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9._-]*$", var.flow_id)) && length(var.flow_id) <= 100
    error_message = "flow_id must start with a letter or digit and hold only letters, digits, `.`, `_` and `-` (at most 100 characters)."
  }
}

variable "description" {
  description = "What the subflow does, for the people who call it."
  type        = string
  default     = null
}

variable "labels" {
  description = "Labels of the subflow and its executions."
  type        = map(string)
  default     = {}
}

variable "inputs" {
  description = "The inputs callers pass: `id`, `type` (STRING, INT, FLOAT, BOOLEAN, JSON, URI, FILE, DATETIME, ...), whether it is `required` (true unless said), a `description`, and `defaults`. The tasks read them as `{{ inputs.<id> }}`."
  type = list(object({
    id          = string
    type        = string
    required    = optional(bool, true)
    description = optional(string)
    defaults    = optional(any)
  }))
  default = []

  validation {
    condition     = alltrue([for i in var.inputs : can(regex("^[a-zA-Z0-9][.a-zA-Z0-9_-]*$", i.id))])
    error_message = "An input id starts with a letter or digit and holds only letters, digits, `.`, `_` and `-`."
  }

  validation {
    condition     = length(distinct([for i in var.inputs : i.id])) == length(var.inputs)
    error_message = "Two inputs have the same id."
  }
}

variable "outputs" {
  description = "The outputs callers read as `{{ outputs.<call task id>.outputs.<id> }}`: `id`, `type` and the `value`, an expression over the tasks' outputs such as `{{ outputs.load.rows }}`."
  type = list(object({
    id    = string
    type  = string
    value = string
  }))
  default = []

  validation {
    condition     = alltrue([for o in var.outputs : can(regex("^[a-zA-Z0-9][.a-zA-Z0-9_-]*$", o.id))])
    error_message = "An output id starts with a letter or digit and holds only letters, digits, `.`, `_` and `-`."
  }
}

variable "tasks" {
  description = "The tasks, in order: a list of task objects written in HCL as they would be in a flow, each with an `id` and a `type`, such as `[{ id = \"hello\", type = \"io.kestra.plugin.core.log.Log\", message = \"Hi {{ inputs.name }}\" }]`. They are written into the flow with yamlencode."
  type        = any

  validation {
    condition     = can(var.tasks[0]) && can([for t in var.tasks : t.id])
    error_message = "tasks is a non-empty list of task objects, such as [{ id = \"hello\", type = \"io.kestra.plugin.core.log.Log\", message = \"Hi\" }]."
  }

  validation {
    condition     = alltrue(try([for t in var.tasks : can(regex("^[a-zA-Z0-9][a-zA-Z0-9_-]*$", t.id)) && can(regex("\\.", t.type))], [false]))
    error_message = "Every task has an `id` (letters, digits, `_` and `-`) and a `type` such as io.kestra.plugin.core.log.Log."
  }
}
