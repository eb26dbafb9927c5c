//! The AWS SDK configuration, loaded once per process from the standard chain (environment,
//! profile, container or instance role) and shared by every client the steps create.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use tokio::sync::OnceCell;

/// Attempts per AWS call, throttled or failed transiently, before the SDK gives up: a step
/// retried as a whole by Step Functions costs far more than a few more attempts here.
const MAX_ATTEMPTS: u32 = 10;

pub async fn config() -> &'static SdkConfig {
    static CONFIG: OnceCell<SdkConfig> = OnceCell::const_new();
    CONFIG
        .get_or_init(|| {
            aws_config::defaults(BehaviorVersion::latest())
                .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
                .load()
        })
        .await
}
