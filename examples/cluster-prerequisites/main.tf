# Applied once per cluster, before the pipelines that run on it: the Jobs' namespace and
# service accounts, and the Pod Identity agent. It needs cluster-admin rights in Kubernetes,
# which the pipelines themselves never get.

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.75"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = ">= 2.23"
    }
  }
}

provider "aws" {
  region = var.region
}

data "aws_eks_cluster" "this" {
  name = var.cluster_name
}

data "aws_eks_cluster_auth" "this" {
  name = var.cluster_name
}

provider "kubernetes" {
  host                   = data.aws_eks_cluster.this.endpoint
  cluster_ca_certificate = base64decode(data.aws_eks_cluster.this.certificate_authority[0].data)
  token                  = data.aws_eks_cluster_auth.this.token
}

module "cluster_prerequisites" {
  source = "../../terraform/cluster-prerequisites"

  cluster_name               = var.cluster_name
  namespace                  = var.namespace
  service_accounts           = var.service_accounts
  install_pod_identity_agent = var.install_pod_identity_agent
}

variable "region" {
  type = string
}

variable "cluster_name" {
  type = string
}

variable "namespace" {
  type    = string
  default = "eventdriven"
}

variable "service_accounts" {
  description = "One per pipeline: `eventdriven-<name>` unless the pipeline sets `service_account`."
  type        = set(string)
  default     = ["eventdriven-orders"]
}

variable "install_pod_identity_agent" {
  type    = bool
  default = true
}

output "namespace" {
  value = module.cluster_prerequisites.namespace
}

output "service_accounts" {
  value = module.cluster_prerequisites.service_accounts
}
