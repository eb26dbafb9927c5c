//! Failures of a walk over the children, reported as Terraform diagnostics, and a walk run within
//! a time limit.

use std::future::Future;
use std::time::Duration;

use tf_provider::Diagnostics;

use crate::lifecycle::Failure;

pub fn report(diags: &mut Diagnostics, failure: Failure) {
    diags.root_error(
        format!("Failed {} {} {}", failure.action, failure.child, failure.name),
        failure.error.to_string(),
    );
}

/// The value, or `None` with the failure reported.
pub fn reported<T>(diags: &mut Diagnostics, result: Result<T, Failure>) -> Option<T> {
    result.map_err(|failure| report(diags, failure)).ok()
}

/// What a create or update that succeeded has to say: what may still break, unrefused.
pub type Warnings = Vec<String>;

/// Runs `work` within `limit`, its warnings and its failure reported; on timeout the children
/// recorded so far stay recorded, since `work` only borrows them.
pub async fn within<F: Future<Output = Result<Warnings, Failure>>>(
    diags: &mut Diagnostics,
    limit: Duration,
    what: &str,
    work: F,
) {
    match tokio::time::timeout(limit, work).await {
        Ok(Ok(warnings)) => {
            for warning in warnings {
                diags.root_warning(format!("Warning while {what}"), warning);
            }
        }
        Ok(Err(failure)) => report(diags, failure),
        Err(_) => diags.root_error(
            format!("Timed out {what}"),
            format!(
                "gave up after {}s; every child created so far is recorded in the state",
                limit.as_secs()
            ),
        ),
    }
}
