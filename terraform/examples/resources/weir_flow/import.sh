# A flow is imported by <namespace>/<flow_id>.
terraform import weir_flow.hello company.team/hello
