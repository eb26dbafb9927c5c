variable "region" {
  description = "AWS region of the workflow."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Workflow name (and event source); the children's names derive from it."
  type        = string
  default     = "cookie-report"
}

variable "handler_image" {
  description = "ECR image URI of the listeners' image (handlers/Dockerfile): cookie-report-handlers."
  type        = string
}

variable "max_concurrency" {
  description = "People processed at once."
  type        = number
  default     = 2
}

variable "task_timeout_seconds" {
  description = "How long each task waits for its listener before the run fails."
  type        = number
  default     = 300
}

variable "trail_retention_days" {
  description = "Days the trail keeps every event."
  type        = number
  default     = 1
}

variable "force_destroy" {
  description = "Whether destroy may delete the bucket while it holds run files. The example is disposable."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every child."
  type        = map(string)
  default     = {}
}

variable "default_tags" {
  description = "Provider-wide default tags."
  type        = map(string)
  default     = {}
}
