variable "region" {
  description = "AWS region of the cluster and the pipeline."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Pipeline name; the children's names derive from it."
  type        = string
  default     = "margins"
}

variable "cluster_name" {
  description = "Existing EKS cluster (with a public API endpoint) the Jobs run on."
  type        = string
}

variable "job_image" {
  description = "Image of the eventdriven runtime: split, merge, and the process Job's init container."
  type        = string
}

variable "lambda_image" {
  description = "ECR image URI of the list-chunks Lambda function."
  type        = string
}

variable "process_image" {
  description = "Image holding enrich.py at /app and a python3 (e.g. built FROM python:3.12-slim; see README.md)."
  type        = string
}

variable "process_env" {
  description = "Extra environment of the process step."
  type        = map(string)
  default     = {}
}

variable "max_lines_per_batch" {
  description = "Data rows per chunk."
  type        = number
  default     = 30000
}

variable "force_destroy" {
  description = "Let destroy delete the bucket while it holds objects."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource the pipeline creates."
  type        = map(string)
  default     = {}
}

variable "default_tags" {
  description = "Tags the provider puts on everything it creates."
  type        = map(string)
  default     = {}
}
