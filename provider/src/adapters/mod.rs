//! One module per kind of AWS resource the resources own: small adapters over the AWS SDK that
//! create, read, update, tag and delete it, knowing nothing of the resource that owns it. They
//! import `crate::aws` and core only; each resource's `children/` turns them into its `Child`ren.

pub mod access_entry;
pub mod auth_secret;
pub mod bucket;
pub mod cache;
pub mod file_system;
pub mod function;
pub mod log_group;
pub mod pod_identity;
pub mod role;
pub mod rule;
pub mod security_group;
pub mod state_machine;
pub mod table;
