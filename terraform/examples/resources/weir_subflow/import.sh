# A subflow is imported by <namespace>/<flow_id>.
terraform import weir_subflow.load_table company.shared/load_table
