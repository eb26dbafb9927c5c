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

/// A warning's own summary (its text up to the first colon, which names what is at risk):
/// Terraform folds warnings sharing a summary into "and N more similar warnings", which would
/// hide all but the first.
fn warning_summary(warning: &str, what: &str) -> String {
    let head = warning.split(':').next().unwrap_or(warning);
    format!("While {what}: {head}")
}

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
                diags.root_warning(warning_summary(&warning, what), warning);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_warning_is_summarised_by_its_own_subject() {
        let endpoint = "cluster main's public endpoint only admits [\"203.0.113.0/24\"]: Step Functions ...";
        let driver = "cluster main has no aws-efs-csi-driver add-on, and the Jobs mount ...: install it";
        let (a, b) = (
            warning_summary(endpoint, "creating the pipeline"),
            warning_summary(driver, "creating the pipeline"),
        );
        assert_eq!(
            a,
            "While creating the pipeline: cluster main's public endpoint only admits [\"203.0.113.0/24\"]"
        );
        assert_ne!(a, b, "Terraform would fold them into one");
    }
}
