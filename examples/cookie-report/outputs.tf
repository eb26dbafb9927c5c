output "state_machine_arn" {
  description = "The main state machine: one execution per run."
  value       = eventdriven_workflow.cookies.state_machine_arn
}

output "bucket" {
  description = "Where runs keep their files and reports (runs/<execution name>/)."
  value       = eventdriven_workflow.cookies.bucket_name
}

output "trail_log_group" {
  description = "Every event of every run (eventdriven trail EXECUTION reads it)."
  value       = eventdriven_workflow.cookies.trail_log_group
}
