//! One module per kind of child a resource owns: small adapters over the AWS SDK that
//! create, read, update and delete it. Ordering and state bookkeeping live in `pipeline` and `workflow`.

pub mod access_entry;
pub mod auth_secret;
pub mod bucket;
pub mod cache;
pub mod file_system;
pub mod function;
pub mod log_group;
pub mod pod_identity;
pub mod role;
pub mod security_group;
pub mod state_machine;
pub mod table;
pub mod trigger_rule;
