variable "region" {
  description = "AWS region of the cluster and the pipeline."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Pipeline name; the children's names derive from it."
  type        = string
  default     = "orders"
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

variable "max_concurrency" {
  description = "Most chunks processed at once; 0 means unbounded."
  type        = number
  default     = 0
}

variable "work_volume_mount" {
  description = "efs_csi (the default: the claim below, TLS and IAM through the EFS CSI driver) or nfs (plain NFS, no driver, no TLS)."
  type        = string
  default     = null
}

variable "work_volume_claim" {
  description = "With efs_csi, the PersistentVolumeClaim bound to the pipeline's EFS access point; null is eventdriven-<name>-work, which terraform/work-volume creates."
  type        = string
  default     = null
}

variable "node_security_group_ids" {
  description = "Security groups of the nodes the Jobs run on, if not the cluster security group (self-managed nodes, Karpenter)."
  type        = list(string)
  default     = null
}

variable "lambda_subnet_ids" {
  description = "Subnets of the list-chunks function (private, with a NAT gateway or VPC endpoints); null means the cluster's private subnets."
  type        = list(string)
  default     = null
}

variable "force_destroy" {
  description = "Whether destroy may delete the bucket and the table while they hold data. The example is disposable; keep false for data you want to keep."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags of the pipeline's children."
  type        = map(string)
  default     = {}
}

variable "default_tags" {
  description = "Tags the provider puts on every child."
  type        = map(string)
  default     = { project = "eventdriven" }
}
