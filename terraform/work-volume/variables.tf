variable "pipeline_name" {
  description = "The pipeline's `name`."
  type        = string
}

variable "namespace" {
  description = "The pipeline's `namespace`, where its Jobs run (default `eventdriven`)."
  type        = string
  default     = "eventdriven"
}

variable "claim_name" {
  description = "The pipeline's `work_volume_claim`; null is the pipeline's default, `eventdriven-<pipeline_name>-work`."
  type        = string
  default     = null
}

variable "file_system_id" {
  description = "The pipeline's `file_system_id`."
  type        = string
}

variable "access_point_id" {
  description = "The pipeline's `access_point_id`."
  type        = string
}
