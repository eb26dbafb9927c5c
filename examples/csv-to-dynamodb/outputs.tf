output "bucket" {
  description = "Upload inputs under input/ here; results appear under output/."
  value       = eventdriven_batch_pipeline.customers.bucket
}

output "table_name" {
  description = "DynamoDB table holding one item per customer, keyed by Index (N)."
  value       = eventdriven_batch_pipeline.customers.table_name
}

output "state_machine_arn" {
  description = "Step Functions state machine running one execution per input."
  value       = eventdriven_batch_pipeline.customers.state_machine_arn
}
