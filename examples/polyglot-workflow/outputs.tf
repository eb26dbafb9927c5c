output "state_machine_arn" {
  description = "The main state machine: one execution per order."
  value       = eventdriven_workflow.orders.state_machine_arn
}

output "trail_log_group" {
  description = "Every event of every run (eventdriven trail EXECUTION reads it)."
  value       = eventdriven_workflow.orders.trail_log_group
}
