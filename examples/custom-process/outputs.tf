output "bucket" {
  description = "Upload order files under input/ here; OrderId,MarginPercent results appear under output/."
  value       = eventdriven_batch_pipeline.margins.bucket
}

output "state_machine_arn" {
  description = "Step Functions state machine running one execution per input."
  value       = eventdriven_batch_pipeline.margins.state_machine_arn
}
