# A customer export loaded into DynamoDB: a CSV layout of its own, keyed by an integer, with
# dates, timestamps, booleans, decimals and an optional column, declared in record.json.
# Drop a file under s3://<bucket>/input/ and every row lands in the table, typed as declared;
# the result lists each customer's key and record hash, and rejected rows sit beside it with
# the column and the problem named.

terraform {
  required_version = ">= 1.5"
  required_providers {
    eventdriven = {
      source = "eventdriven/eventdriven"
    }
  }
}

provider "eventdriven" {
  region       = var.region
  default_tags = var.default_tags
}

locals {
  # Index (integer, the key: N), dates, timestamps, booleans, decimals and an optional Phone.
  record = jsondecode(file("${path.module}/record.json"))
}

resource "eventdriven_batch_pipeline" "customers" {
  name                = var.name
  cluster_name        = var.cluster_name
  job_image           = var.job_image
  lambda_image        = var.lambda_image
  max_lines_per_batch = var.max_lines_per_batch
  force_destroy       = var.force_destroy
  tags                = var.tags

  # The declaration lives in record.json, the file `eventdriven run --record` reads, so the
  # local run and the cloud run load one definition. Written as a block, it reads the same:
  # see examples/order-batch.
  record {
    key    = local.record.key
    output = local.record.output
    generated {
      attribute = local.record.generated.attribute
      kind      = local.record.generated.kind
    }
    dynamic "column" {
      for_each = local.record.column
      content {
        header    = column.value.header
        attribute = try(column.value.attribute, null)
        type      = try(column.value.type, null)
        required  = try(column.value.required, null)
        format    = try(column.value.format, null)
      }
    }
  }
}
