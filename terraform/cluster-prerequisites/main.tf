# What an eventdriven pipeline needs inside its EKS cluster, once per cluster: the Pod Identity
# agent, the Jobs' namespace and service accounts, and optionally the EFS CSI driver.
#
# The pipeline resource checks the add-on before it creates anything, and every run reads its
# service account first: a run on a cluster without it fails within seconds, naming this module.

resource "aws_eks_addon" "pod_identity_agent" {
  count        = var.install_pod_identity_agent ? 1 : 0
  cluster_name = var.cluster_name
  addon_name   = "eks-pod-identity-agent"
  tags         = var.tags
}

resource "kubernetes_namespace_v1" "jobs" {
  metadata {
    name = var.namespace
    labels = {
      "app.kubernetes.io/managed-by" = "terraform"
      "app.kubernetes.io/part-of"    = "eventdriven"
    }
  }
}

# The pipeline's Pod Identity association maps each of these to its Job role.
resource "kubernetes_service_account_v1" "jobs" {
  for_each = var.service_accounts
  metadata {
    name      = each.value
    namespace = kubernetes_namespace_v1.jobs.metadata[0].name
    labels = {
      "app.kubernetes.io/part-of" = "eventdriven"
    }
  }
  automount_service_account_token = false
}

# The EFS CSI driver's controller gets its own role through Pod Identity.
data "aws_iam_policy_document" "efs_csi_trust" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "efs_csi_driver" {
  count              = var.install_efs_csi_driver ? 1 : 0
  name               = "${var.cluster_name}-efs-csi-driver"
  assume_role_policy = data.aws_iam_policy_document.efs_csi_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "efs_csi_driver" {
  count      = var.install_efs_csi_driver ? 1 : 0
  role       = aws_iam_role.efs_csi_driver[0].name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"
}

data "aws_partition" "current" {}

# The driver's node plugin makes the mounts. With the `iam` mount option it mounts as this
# role, which the pipelines' file system policies let in only through their access points.
resource "aws_iam_role" "efs_csi_node" {
  count              = var.install_efs_csi_driver ? 1 : 0
  name               = "${var.cluster_name}-efs-csi-node"
  assume_role_policy = data.aws_iam_policy_document.efs_csi_trust.json
  tags               = var.tags
}

data "aws_iam_policy_document" "efs_csi_node" {
  statement {
    sid       = "MountThroughMountTargets"
    actions   = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    resources = ["arn:${data.aws_partition.current.partition}:elasticfilesystem:*:*:file-system/*"]
    condition {
      test     = "Bool"
      variable = "elasticfilesystem:AccessedViaMountTarget"
      values   = ["true"]
    }
  }
}

resource "aws_iam_role_policy" "efs_csi_node" {
  count  = var.install_efs_csi_driver ? 1 : 0
  name   = "mount"
  role   = aws_iam_role.efs_csi_node[0].id
  policy = data.aws_iam_policy_document.efs_csi_node.json
}

resource "aws_eks_addon" "efs_csi_driver" {
  count        = var.install_efs_csi_driver ? 1 : 0
  cluster_name = var.cluster_name
  addon_name   = "aws-efs-csi-driver"
  pod_identity_association {
    role_arn        = aws_iam_role.efs_csi_driver[0].arn
    service_account = "efs-csi-controller-sa"
  }
  pod_identity_association {
    role_arn        = aws_iam_role.efs_csi_node[0].arn
    service_account = "efs-csi-node-sa"
  }
  tags       = var.tags
  depends_on = [aws_eks_addon.pod_identity_agent]
}
