resource "weir_namespace" "this" {
  name        = var.name
  description = var.description
  variables   = var.variables
  labels      = var.labels
}

# The names are not secret, only the values: for_each takes the names, the values stay
# ephemeral and go to the write-only value_wo.
resource "weir_secret" "this" {
  for_each = var.secret_names

  namespace        = weir_namespace.this.name
  name             = each.key
  value_wo         = var.secrets[each.key]
  value_wo_version = var.secrets_version
}

resource "weir_kv" "this" {
  for_each = var.kv

  namespace = weir_namespace.this.name
  key       = each.key
  value     = each.value.value
  type      = each.value.type
  ttl       = each.value.ttl
}

resource "weir_namespace_file" "inline" {
  for_each = var.files

  namespace = weir_namespace.this.name
  path      = each.key
  content   = each.value
}

resource "weir_namespace_file" "uploaded" {
  for_each = var.files_dir == null ? toset([]) : fileset(var.files_dir, "**")

  namespace = weir_namespace.this.name
  path      = each.key
  source    = "${var.files_dir}/${each.key}"
}
