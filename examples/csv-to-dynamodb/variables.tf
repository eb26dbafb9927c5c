variable "region" {
  description = "AWS region of the cluster and the pipeline."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Pipeline name; the children's names derive from it."
  type        = string
  default     = "customers"
}

variable "cluster_name" {
  description = "Existing EKS cluster (with a public API endpoint) the Jobs run on."
  type        = string
}

variable "job_image" {
  description = "Image of the eventdriven runtime the Jobs run."
  type        = string
}

variable "lambda_image" {
  description = "ECR image URI of the list-chunks Lambda function."
  type        = string
}

variable "max_lines_per_batch" {
  description = "Data rows per chunk."
  type        = number
  default     = 30000
}

variable "force_destroy" {
  description = "Let destroy delete the bucket and the table while they hold data."
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
