output "namespace" {
  description = "The Jobs' namespace."
  value       = kubernetes_namespace_v1.jobs.metadata[0].name
}

output "service_accounts" {
  description = "The Jobs' service accounts."
  value       = sort([for account in kubernetes_service_account_v1.jobs : account.metadata[0].name])
}
