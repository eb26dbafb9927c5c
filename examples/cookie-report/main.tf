# The cookie report: a run counts who ate how many cookies. Start one by putting an event:
#   aws events put-events --entries '[{"Source":"cookie-report","DetailType":"start","Detail":"{}"}]'
# Each task puts an event and waits for its listener's answer; the report lands in the bucket
# under runs/<execution name>/report.json. The listeners are the crate in handlers/: each
# function runs the image's entrypoint, cookie-report-handlers, with its listener's name.

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

resource "eventdriven_workflow" "cookies" {
  name          = var.name
  handler_image = var.handler_image
  bucket        = true
  force_destroy = var.force_destroy
  tags          = var.tags

  task {
    name            = "GetMultiple"
    detail_type     = "get.multiple"
    result_path     = "$.names"
    timeout_seconds = var.task_timeout_seconds
  }
  task {
    name            = "ProcessMultiple"
    detail_type     = "process.single"
    items_path      = "$.names.value"
    max_concurrency = var.max_concurrency
    result_path     = "$.people"
    timeout_seconds = var.task_timeout_seconds
  }
  task {
    name            = "PostProcessAll"
    detail_type     = "process.all"
    result_path     = "$.totalCookiesConsumed"
    timeout_seconds = var.task_timeout_seconds
  }

  listener {
    name         = "get-multiple"
    detail_types = ["get.multiple"]
    command      = ["get-multiple"]
  }
  listener {
    name         = "process-single"
    detail_types = ["process.single"]
    command      = ["process-single"]
    emits        = ["process.single.post"]
  }
  listener {
    name         = "post-process-single"
    detail_types = ["process.single.post"]
    command      = ["post-process-single"]
  }
  listener {
    name         = "post-process-all"
    detail_types = ["process.all"]
    command      = ["post-process-all"]
  }
  listener {
    name         = "side-effect"
    detail_types = ["process.single.post"]
    command      = ["side-effect"]
  }

  trail {
    retention_days = var.trail_retention_days
  }
}
