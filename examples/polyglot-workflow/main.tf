# A workflow whose listeners are written in three languages, in the three ways a listener is
# declared: Python and Node.js zip packages the workflow creates functions from, a Rust image,
# and a Python side effect. Build the zips first (./build.sh), then apply; start a run with
#   aws events put-events --entries '[{"Source":"polyglot","DetailType":"start","Detail":"{\"order\":{\"id\":\"o-1\",\"items\":[{\"sku\":\"a\",\"qty\":2,\"price\":3.5}]}}"}]'
# Enrich adds the order's lines and subtotal, Price its tax and total, Approve decides; the
# audit side effect sees the Approve event without its task token, and its outcome shows in
# the trail as order.approve.done (or side_effect.failed) while the run goes on.

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

resource "eventdriven_workflow" "orders" {
  name = var.name
  tags = var.tags

  task {
    name            = "Enrich"
    detail_type     = "order.enrich"
    result_path     = "$.enriched"
    timeout_seconds = var.task_timeout_seconds
  }
  task {
    name            = "Price"
    detail_type     = "order.price"
    result_path     = "$.priced"
    timeout_seconds = var.task_timeout_seconds
  }
  task {
    name            = "Approve"
    detail_type     = "order.approve"
    result_path     = "$.approval"
    timeout_seconds = var.task_timeout_seconds
  }

  listener {
    name         = "enrich"
    detail_types = ["order.enrich"]
    filename     = "build/enrich.zip"
    runtime      = "python3.12"
    handler      = "app.handler"
  }
  listener {
    name         = "price"
    detail_types = ["order.price"]
    filename     = "build/price.zip"
    runtime      = "nodejs20.x"
    handler      = "index.handler"
  }
  listener {
    name         = "approve"
    detail_types = ["order.approve"]
    image        = var.approve_image
    command      = ["approve"]
    environment  = { APPROVAL_LIMIT = tostring(var.approval_limit) }
  }
  listener {
    name         = "audit"
    detail_types = ["order.approve"]
    filename     = "build/audit.zip"
    runtime      = "python3.12"
    handler      = "app.handler"
    side_effect  = true
  }

  trail {
    retention_days = 1
  }
}
