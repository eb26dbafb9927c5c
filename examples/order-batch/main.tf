# An order batch pipeline on an existing EKS cluster: drop a CSV of orders under
# s3://<bucket>/input/ and the merged OrderId,ConfirmationId result appears under output/.

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

resource "eventdriven_batch_pipeline" "orders" {
  name                    = var.name
  cluster_name            = var.cluster_name
  job_image               = var.job_image
  lambda_image            = var.lambda_image
  max_lines_per_batch     = var.max_lines_per_batch
  max_concurrency         = var.max_concurrency
  work_volume_mount       = var.work_volume_mount
  work_volume_claim       = var.work_volume_claim
  node_security_group_ids = var.node_security_group_ids
  lambda_subnet_ids       = var.lambda_subnet_ids
  force_destroy           = var.force_destroy
  tags                    = var.tags

  # The order sample's layout. Without this block a pipeline loads the same layout; declared,
  # it can be changed: a new non-key column is loaded from the next run on.
  record {
    key = "OrderId"
    generated {
      attribute = "ConfirmationId"
      kind      = "uuid_v5"
    }
    column {
      header = "Region"
    }
    column {
      header = "Country"
    }
    column {
      header = "Item Type"
    }
    column {
      header = "Sales Channel"
    }
    column {
      header = "Order Priority"
    }
    column {
      header = "Order Date"
      type   = "date"
    }
    column {
      header    = "Order ID"
      attribute = "OrderId"
      type      = "id"
    }
    column {
      header = "Ship Date"
      type   = "date"
    }
    column {
      header = "Units Sold"
      type   = "integer"
    }
    column {
      header = "Unit Price"
      type   = "decimal"
    }
    column {
      header = "Unit Cost"
      type   = "decimal"
    }
    column {
      header = "Total Revenue"
      type   = "decimal"
    }
    column {
      header = "Total Cost"
      type   = "decimal"
    }
    column {
      header = "Total Profit"
      type   = "decimal"
    }
    output = ["OrderId", "ConfirmationId"]
  }
}
