# The work volume a pipeline's Jobs mount with `work_volume_mount = "efs_csi"` (the default): a
# PersistentVolume on the pipeline's EFS access point, mounted by the EFS CSI driver with TLS and
# IAM, and the claim bound to it in the Jobs' namespace. The pipeline's file system policy
# refuses any other mount: without TLS, or not through the access point.

locals {
  claim_name = coalesce(var.claim_name, "eventdriven-${var.pipeline_name}-work")
}

resource "kubernetes_persistent_volume_v1" "work" {
  metadata {
    # Volumes are cluster-wide: the namespace keeps two pipelines of one name apart.
    name = "${var.namespace}-${local.claim_name}"
    labels = {
      "app.kubernetes.io/part-of"  = "eventdriven"
      "app.kubernetes.io/instance" = var.pipeline_name
    }
  }
  spec {
    # EFS grows as it is written; Kubernetes asks for a size all the same, and ignores it.
    capacity = {
      storage = "1Ti"
    }
    access_modes                     = ["ReadWriteMany"]
    persistent_volume_reclaim_policy = "Retain"
    storage_class_name               = ""
    mount_options                    = ["tls", "iam"]
    persistent_volume_source {
      csi {
        driver        = "efs.csi.aws.com"
        volume_handle = "${var.file_system_id}::${var.access_point_id}"
      }
    }
  }
}

resource "kubernetes_persistent_volume_claim_v1" "work" {
  metadata {
    name      = local.claim_name
    namespace = var.namespace
    labels = {
      "app.kubernetes.io/part-of"  = "eventdriven"
      "app.kubernetes.io/instance" = var.pipeline_name
    }
  }
  spec {
    access_modes       = ["ReadWriteMany"]
    storage_class_name = ""
    volume_name        = kubernetes_persistent_volume_v1.work.metadata[0].name
    resources {
      requests = {
        storage = "1Ti"
      }
    }
  }
}
