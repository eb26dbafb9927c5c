//! The AWS SDK configuration, loaded once per process from the standard chain (environment,
//! profile, container or instance role) and shared by every client the steps create.

use aws_config::SdkConfig;
use tokio::sync::OnceCell;

pub async fn config() -> &'static SdkConfig {
    static CONFIG: OnceCell<SdkConfig> = OnceCell::const_new();
    CONFIG.get_or_init(aws_config::load_from_env).await
}
