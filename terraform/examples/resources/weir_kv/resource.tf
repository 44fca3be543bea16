resource "weir_kv" "region" {
  namespace = "company.team"
  key       = "region"
  value     = "eu-west-1"
}

resource "weir_kv" "thresholds" {
  namespace = "company.team"
  key       = "thresholds"
  type      = "JSON"
  value     = jsonencode({ rows = 1000, late_minutes = 30 })
  ttl       = "P30D"
}
