# A daily chain for analysts: Airbyte lands raw data, dbt builds the marts from the namespace's
# files, Hightouch pushes the result to the CRM; each step retries on its own and Slack hears of
# failures. The credentials are secrets of the namespace (or a parent), set with the namespace
# module or weir_secret resources: AIRBYTE_TOKEN, BIGQUERY_SERVICE_ACCOUNT, HIGHTOUCH_TOKEN and
# SLACK_WEBHOOK_URL. The endpoint comes from WEIR_URL.

terraform {
  required_providers {
    weir = { source = "weir/weir" }
  }
}

provider "weir" {}

module "daily_crm_sync" {
  source = "../.."

  namespace   = "company.marketing"
  flow_id     = "daily_crm_sync"
  description = "Airbyte, then dbt, then Hightouch, every morning."
  labels      = { team = "marketing" }

  ingestion = {
    tool          = "airbyte"
    url           = "https://airbyte.example.com"
    connection_id = "3f6f2a4e-6b8a-4d3c-9a0e-5d2b1c7e8f90"
    token_secret  = "AIRBYTE_TOKEN"
    max_duration  = "PT2H"
    retry         = { type = "constant", interval = "PT5M", max_attempts = 2 }
  }

  dbt = {
    commands     = ["dbt deps", "dbt build --target prod"]
    secret_files = { "service-account.json" = "BIGQUERY_SERVICE_ACCOUNT" }
    profiles     = <<-YAML
      marketing:
        target: prod
        outputs:
          prod:
            type: bigquery
            method: service-account
            keyfile: service-account.json
            project: company-marketing
            dataset: marts
            threads: 4
    YAML
  }

  hightouch = {
    sync_id      = 1127
    token_secret = "HIGHTOUCH_TOKEN"
  }

  retry = { type = "exponential", max_attempts = 3, interval = "PT1M", max_interval = "PT10M" }

  schedule = { cron = "0 6 * * *", timezone = "Europe/Paris" }

  failure_notice = {
    slack_webhook_secret = "SLACK_WEBHOOK_URL"
    channel              = "#data-alerts"
  }
}

output "flow" {
  value = module.daily_crm_sync.id
}

output "revision" {
  value = module.daily_crm_sync.revision
}

output "content" {
  value = module.daily_crm_sync.content
}
