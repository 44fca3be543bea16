# A shared step with a declared interface, and a flow that calls it through the module's `call`
# output. The endpoint comes from WEIR_URL.

terraform {
  required_providers {
    weir = { source = "weir/weir" }
  }
}

provider "weir" {}

# A namespace is a wall: the shared one lets company.team's flows call its subflows.
resource "weir_namespace" "shared" {
  name               = "company.shared"
  description        = "Steps every team calls."
  allowed_namespaces = ["company.team"]
}

module "greet" {
  source = "../.."

  namespace   = weir_namespace.shared.name
  flow_id     = "greet"
  description = "Greets someone and returns the greeting."
  labels      = { owner = "platform" }

  inputs = [
    { id = "name", type = "STRING", description = "Who to greet." },
    { id = "punctuation", type = "STRING", required = false, defaults = "!" },
  ]

  tasks = [
    {
      id      = "log"
      type    = "io.kestra.plugin.core.log.Log"
      message = "Hello, {{ inputs.name }}{{ inputs.punctuation }}"
    },
    {
      id     = "greeting"
      type   = "io.kestra.plugin.core.debug.Return"
      format = "Hello, {{ inputs.name }}{{ inputs.punctuation }}"
    },
  ]

  outputs = [
    { id = "greeting", type = "STRING", value = "{{ outputs.greeting.value }}" },
  ]
}

# A caller: the Subflow task comes from the module, its inputs are set here. Referring to the
# module makes Terraform create the subflow first.
resource "weir_flow" "welcome" {
  content = yamlencode({
    id        = "welcome"
    namespace = "company.team"
    inputs    = [{ id = "user", type = "STRING", defaults = "Ada" }]
    tasks = [
      merge(module.greet.call, {
        id     = "greet_user"
        inputs = { name = "{{ inputs.user }}", punctuation = "." }
      }),
      {
        id      = "report"
        type    = "io.kestra.plugin.core.log.Log"
        message = "{{ outputs.greet_user.outputs.greeting }}"
      },
    ]
  })
}

output "subflow" {
  value = module.greet.id
}

output "call" {
  value = module.greet.call
}

output "caller" {
  value = weir_flow.welcome.id
}
