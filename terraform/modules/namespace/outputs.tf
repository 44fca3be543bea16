output "name" {
  description = "The namespace's name; refer to it rather than repeating it, so flows are created after it."
  value       = weir_namespace.this.name
}

output "secret_names" {
  description = "The names of the secrets written (never their values)."
  value       = sort([for secret in weir_secret.this : secret.name])
}

output "kv_keys" {
  description = "The keys of the KV pairs written."
  value       = sort([for pair in weir_kv.this : pair.key])
}

output "files" {
  description = "The namespace files written, by path, with the SHA-256 of their bytes."
  value = {
    for file in concat(values(weir_namespace_file.inline), values(weir_namespace_file.uploaded)) :
    file.path => file.sha256
  }
}
