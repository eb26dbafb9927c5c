variable "region" {
  description = "AWS region of the workflow."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Workflow name (and event source); the children's names derive from it."
  type        = string
  default     = "polyglot"
}

variable "approve_image" {
  description = "ECR image URI of the Rust listener (approve/Dockerfile): polyglot-approve."
  type        = string
}

variable "approval_limit" {
  description = "Orders whose total is above this are not approved."
  type        = number
  default     = 1000
}

variable "task_timeout_seconds" {
  description = "How long each task waits for its listener before the run fails."
  type        = number
  default     = 60
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
