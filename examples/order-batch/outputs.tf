output "bucket" {
  description = "Upload inputs under input/ here; results appear under output/."
  value       = eventdriven_batch_pipeline.orders.bucket
}

output "table_name" {
  description = "DynamoDB table holding the orders."
  value       = eventdriven_batch_pipeline.orders.table_name
}

output "state_machine_arn" {
  description = "Step Functions state machine running one execution per input."
  value       = eventdriven_batch_pipeline.orders.state_machine_arn
}
