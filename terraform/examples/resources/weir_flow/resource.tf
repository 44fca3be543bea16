# The YAML lives beside the configuration and is reviewed like any other file.
# A change of formatting, key order or comments is no change; a real change is a diff of the YAML.
# Reformatted since the last apply and then changed, the diff shows every reformatted line, and
# a warning names the lines whose meaning changes.
resource "weir_flow" "hello" {
  content = <<-EOT
    id: hello
    namespace: company.team
    inputs:
      - id: name
        type: STRING
        defaults: world
    tasks:
      - id: say
        type: io.kestra.plugin.core.log.Log
        message: "Hello {{ inputs.name }}"
  EOT
}

# Usually: content = file("${path.module}/flows/hello.yaml"),
# or one resource per file with for_each = fileset("${path.module}/flows", "*.yaml").
