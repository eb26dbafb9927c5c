output "claim_name" {
  description = "The claim the Jobs mount."
  value       = kubernetes_persistent_volume_claim_v1.work.metadata[0].name
}
