# Your own process step: every chunk of an order file goes through enrich.py (Python, standard
# library only) in your image, instead of the built-in step. The pipeline still owns the
# guarantees: each chunk's output rows plus rejects must add up to its rows, or the run fails
# with eventdriven.RowsLost and nothing of the chunk is published (docs/process-contract.md).
# The step writes no table, so the pipeline creates none.

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

resource "eventdriven_batch_pipeline" "margins" {
  name                = var.name
  cluster_name        = var.cluster_name
  job_image           = var.job_image
  lambda_image        = var.lambda_image
  max_lines_per_batch = var.max_lines_per_batch
  force_destroy       = var.force_destroy
  tags                = var.tags
  table               = false

  process {
    image   = var.process_image
    command = ["python3", "/app/enrich.py"]
    env     = var.process_env
    cpu     = "250m"
    memory  = "256Mi"
  }
}
