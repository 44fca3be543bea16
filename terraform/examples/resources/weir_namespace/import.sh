# A namespace is imported by its name.
terraform import weir_namespace.team company.team
