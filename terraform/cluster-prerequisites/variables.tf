variable "cluster_name" {
  description = "The EKS cluster the pipelines' Jobs run on."
  type        = string
}

variable "namespace" {
  description = "The namespace the Jobs run in: the pipeline's `namespace` argument."
  type        = string
  default     = "eventdriven"
}

variable "service_accounts" {
  description = "The Jobs' service accounts, one per pipeline: each pipeline's `service_account` argument (by default `eventdriven-<name>`)."
  type        = set(string)
}

variable "install_pod_identity_agent" {
  description = "Install the eks-pod-identity-agent add-on, which gives the Jobs their AWS credentials. Set false when the cluster already has it, and on an EKS Auto Mode cluster, which runs the agent itself."
  type        = bool
  default     = true
}

variable "install_efs_csi_driver" {
  description = "Install the aws-efs-csi-driver add-on, which mounts a pipeline's work volume with TLS and IAM (`work_volume_mount = \"efs_csi\"`, the default). Set false when the cluster already has the driver, or when every pipeline on it chose `nfs`."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for the AWS resources this module creates."
  type        = map(string)
  default     = {}
}
