# A KV pair is imported by <namespace>/<key>.
terraform import weir_kv.region company.team/region
