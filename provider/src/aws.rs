//! AWS clients for one configured provider, and the error type every adapter returns.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::error::{BuildError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use backon::{BackoffBuilder, ExponentialBuilder, Retryable};
use tf_provider::Diagnostics;

/// Tags as the provider passes them to every child: the resource's `tags` over `default_tags`.
pub type Tags = BTreeMap<String, String>;

/// Makes a child's tags exactly `desired`: removes the keys it no longer has (through `untag`),
/// then sets the rest (through `tag`). `current` lists the keys the child carries now.
pub async fn sync_tags<'a, Untag, Tag>(
    current: impl IntoIterator<Item = &'a str>,
    desired: &Tags,
    untag: impl FnOnce(Vec<String>) -> Untag,
    tag: impl FnOnce() -> Tag,
) -> Result<(), AwsError>
where
    Untag: Future<Output = Result<(), AwsError>>,
    Tag: Future<Output = Result<(), AwsError>>,
{
    let stale: Vec<String> = current
        .into_iter()
        .filter(|key| !desired.contains_key(*key))
        .map(str::to_owned)
        .collect();
    if !stale.is_empty() {
        untag(stale).await?;
    }
    if !desired.is_empty() {
        tag().await?;
    }
    Ok(())
}

/// The clients `configure` builds, shared with the resources (which the plugin framework
/// creates before the provider is configured).
#[derive(Default)]
pub struct Configured(RwLock<Option<Arc<AwsClients>>>);

impl Configured {
    pub fn clients(&self, diags: &mut Diagnostics) -> Option<Arc<AwsClients>> {
        let clients = self.0.read().ok().and_then(|c| c.clone());
        if clients.is_none() {
            diags.root_error_short("the eventdriven provider is not configured");
        }
        clients
    }

    pub fn set(&self, clients: AwsClients) {
        if let Ok(mut slot) = self.0.write() {
            *slot = Some(Arc::new(clients));
        }
    }
}

/// Endpoint overrides from the provider's `endpoints` block, one per service the pipeline uses.
#[derive(Clone, Debug, Default)]
pub struct Endpoints {
    pub dynamodb: Option<String>,
    pub efs: Option<String>,
    pub ec2: Option<String>,
    pub eks: Option<String>,
    pub elasticache: Option<String>,
    pub events: Option<String>,
    pub iam: Option<String>,
    pub lambda: Option<String>,
    pub logs: Option<String>,
    pub s3: Option<String>,
    pub secretsmanager: Option<String>,
    pub sfn: Option<String>,
    pub sts: Option<String>,
}

impl Endpoints {
    /// The block's attribute names, in schema order.
    pub const SERVICES: [&'static str; 13] = [
        "dynamodb",
        "ec2",
        "efs",
        "eks",
        "elasticache",
        "events",
        "iam",
        "lambda",
        "logs",
        "s3",
        "secretsmanager",
        "sfn",
        "sts",
    ];

    pub fn set(&mut self, service: &str, url: String) {
        let slot = match service {
            "dynamodb" => &mut self.dynamodb,
            "efs" => &mut self.efs,
            "ec2" => &mut self.ec2,
            "eks" => &mut self.eks,
            "elasticache" => &mut self.elasticache,
            "events" => &mut self.events,
            "iam" => &mut self.iam,
            "lambda" => &mut self.lambda,
            "logs" => &mut self.logs,
            "s3" => &mut self.s3,
            "secretsmanager" => &mut self.secretsmanager,
            "sfn" => &mut self.sfn,
            "sts" => &mut self.sts,
            _ => return,
        };
        *slot = Some(url);
    }
}

/// What the provider block says about reaching AWS.
#[derive(Clone, Debug, Default)]
pub struct ProviderSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoints: Endpoints,
    pub default_tags: BTreeMap<String, String>,
}

/// One client per service, sharing the credentials, region and retry settings of the provider.
#[derive(Clone, Debug)]
pub struct AwsClients {
    pub region: String,
    pub default_tags: BTreeMap<String, String>,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub efs: aws_sdk_efs::Client,
    pub eks: aws_sdk_eks::Client,
    pub elasticache: aws_sdk_elasticache::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub iam: aws_sdk_iam::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub s3: aws_sdk_s3::Client,
    pub secretsmanager: aws_sdk_secretsmanager::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub sts: aws_sdk_sts::Client,
}

/// Builds a service client from the shared config; `Builder::from(&SdkConfig)` already applies
/// `AWS_ENDPOINT_URL_<SERVICE>`, so an explicit endpoint only needs to override it.
macro_rules! client {
    ($sdk:ident, $shared:expr, $endpoint:expr) => {{
        let mut builder = $sdk::config::Builder::from($shared);
        if let Some(url) = $endpoint {
            builder = builder.endpoint_url(url);
        }
        $sdk::Client::from_conf(builder.build())
    }};
}

impl AwsClients {
    /// Loads the SDK's standard chain (env, profile, SSO cache, IMDS...) with the provider's
    /// region and profile on top.
    pub async fn load(settings: &ProviderSettings) -> Result<Self, String> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &settings.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &settings.profile {
            loader = loader.profile_name(profile);
        }
        // Throttling and transient errors are the SDK's to retry, with its jittered backoff.
        loader = loader.retry_config(RetryConfig::standard().with_max_attempts(SDK_MAX_ATTEMPTS));
        let shared = loader.load().await;
        let region = shared
            .region()
            .map(ToString::to_string)
            .ok_or("no AWS region: set `region` in the provider block or AWS_REGION")?;
        let e = &settings.endpoints;
        Ok(Self {
            region,
            default_tags: settings.default_tags.clone(),
            dynamodb: client!(aws_sdk_dynamodb, &shared, e.dynamodb.clone()),
            ec2: client!(aws_sdk_ec2, &shared, e.ec2.clone()),
            efs: client!(aws_sdk_efs, &shared, e.efs.clone()),
            eks: client!(aws_sdk_eks, &shared, e.eks.clone()),
            elasticache: client!(aws_sdk_elasticache, &shared, e.elasticache.clone()),
            events: client!(aws_sdk_eventbridge, &shared, e.events.clone()),
            iam: client!(aws_sdk_iam, &shared, e.iam.clone()),
            lambda: client!(aws_sdk_lambda, &shared, e.lambda.clone()),
            logs: client!(aws_sdk_cloudwatchlogs, &shared, e.logs.clone()),
            s3: s3_client(&shared, e.s3.clone()),
            secretsmanager: client!(aws_sdk_secretsmanager, &shared, e.secretsmanager.clone()),
            sfn: client!(aws_sdk_sfn, &shared, e.sfn.clone()),
            sts: client!(aws_sdk_sts, &shared, e.sts.clone()),
        })
    }

    /// The account the credentials belong to, which every ARN the pipeline renders needs.
    pub async fn account_id(&self) -> Result<String, AwsError> {
        let identity = self.sts.get_caller_identity().send().await?;
        identity
            .account
            .ok_or_else(|| AwsError::other("GetCallerIdentity returned no account"))
    }
}

#[cfg(test)]
impl AwsClients {
    /// Clients for tests that build a plan but must not reach AWS: no credentials, no retries
    /// and an endpoint nothing listens on, so a call made by mistake fails at once.
    pub fn offline() -> Self {
        let shared = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .endpoint_url("http://127.0.0.1:9")
            .retry_config(RetryConfig::disabled())
            .build();
        let none = None::<String>;
        Self {
            region: "eu-west-1".into(),
            default_tags: BTreeMap::new(),
            dynamodb: client!(aws_sdk_dynamodb, &shared, none.clone()),
            ec2: client!(aws_sdk_ec2, &shared, none.clone()),
            efs: client!(aws_sdk_efs, &shared, none.clone()),
            eks: client!(aws_sdk_eks, &shared, none.clone()),
            elasticache: client!(aws_sdk_elasticache, &shared, none.clone()),
            events: client!(aws_sdk_eventbridge, &shared, none.clone()),
            iam: client!(aws_sdk_iam, &shared, none.clone()),
            lambda: client!(aws_sdk_lambda, &shared, none.clone()),
            logs: client!(aws_sdk_cloudwatchlogs, &shared, none.clone()),
            s3: s3_client(&shared, none.clone()),
            secretsmanager: client!(aws_sdk_secretsmanager, &shared, none.clone()),
            sfn: client!(aws_sdk_sfn, &shared, none.clone()),
            sts: client!(aws_sdk_sts, &shared, none),
        }
    }
}

/// Attempts per AWS call, throttled or failed transiently, before the SDK gives up.
const SDK_MAX_ATTEMPTS: u32 = 8;

/// S3 behind a custom endpoint (an emulator, a VPC endpoint by URL) needs path-style
/// addressing, since `bucket.host` names do not resolve there.
fn s3_client(shared: &SdkConfig, endpoint: Option<String>) -> aws_sdk_s3::Client {
    let custom_endpoint =
        endpoint.is_some() || shared.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let mut builder = aws_sdk_s3::config::Builder::from(shared);
    if let Some(url) = endpoint {
        builder = builder.endpoint_url(url);
    }
    aws_sdk_s3::Client::from_conf(builder.force_path_style(custom_endpoint).build())
}

/// An AWS API failure reduced to what a diagnostic shows: AWS's error code and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsError {
    pub code: Option<String>,
    pub message: String,
}

/// Error codes meaning "that object does not exist", across the services the pipeline uses.
const NOT_FOUND_CODES: &[&str] = &[
    "NoSuchBucket",
    "NotFound",
    "NoSuchEntity",
    "ResourceNotFoundException",
    "FileSystemNotFound",
    "AccessPointNotFound",
    "MountTargetNotFound",
    "CacheSubnetGroupNotFoundFault",
    "ReplicationGroupNotFoundFault",
    "StateMachineDoesNotExist",
    "InvalidGroup.NotFound",
];

impl AwsError {
    pub fn other(message: impl Into<String>) -> Self {
        Self {
            code: None,
            message: message.into(),
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.code.as_deref().is_some_and(|code| NOT_FOUND_CODES.contains(&code))
    }

    pub fn has_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{code}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for AwsError {}

impl<E> From<SdkError<E>> for AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    fn from(err: SdkError<E>) -> Self {
        let code = err.code().map(str::to_owned);
        let message = match (err.message(), err.raw_response()) {
            (Some(message), _) => message.to_owned(),
            // Not an AWS error body (a proxy, an endpoint without this API): the status says most.
            (None, Some(response)) => format!("unexpected HTTP {} response", response.status().as_u16()),
            (None, None) => DisplayErrorContext(&err).to_string(),
        };
        Self { code, message }
    }
}

impl From<BuildError> for AwsError {
    fn from(err: BuildError) -> Self {
        Self::other(err.to_string())
    }
}

/// Treats "not found" as success, for deletes that must tolerate children already gone.
pub fn ignore_not_found(result: Result<(), AwsError>) -> Result<(), AwsError> {
    match result {
        Err(err) if err.is_not_found() => Ok(()),
        other => other,
    }
}

/// Turns a lookup into `None` when the object does not exist.
pub fn found<T>(result: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(err) if err.is_not_found() => Ok(None),
        Err(err) => Err(err),
    }
}

/// How often a child is polled while AWS makes it ready or removes it: quickly at first, then
/// every 10 seconds; the operation's timeout bounds the wait.
const POLLING: ExponentialBuilder = ExponentialBuilder::new()
    .with_min_delay(Duration::from_millis(250))
    .with_max_delay(Duration::from_secs(10))
    .without_max_times();

/// How long a call refused for a just-created IAM role is repeated: services cannot assume a
/// role for a few seconds after CreateRole.
const ROLE_PROPAGATION: ExponentialBuilder = ExponentialBuilder::new()
    .with_min_delay(Duration::from_secs(1))
    .with_max_delay(Duration::from_secs(10))
    .with_max_times(11)
    .with_jitter();

/// Polls `probe` until it yields a value, for children whose service has no SDK waiter.
pub async fn wait_until<T, F, Fut>(mut probe: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, AwsError>>,
{
    let mut delays = POLLING.build();
    loop {
        if let Some(value) = probe().await? {
            return Ok(value);
        }
        tokio::time::sleep(delays.next().unwrap_or(Duration::from_secs(10))).await;
    }
}

/// The time an SDK waiter may take at most; the operation's timeout bounds it first.
pub const WAITER_LIMIT: Duration = Duration::from_secs(2 * 60 * 60);

/// An SDK waiter's failure (the call failed, a failure state was reached, or time ran out),
/// as an [`AwsError`].
pub fn waiter_failed(err: impl ProvideErrorMetadata + std::error::Error) -> AwsError {
    AwsError {
        code: err.code().map(str::to_owned),
        message: err
            .message()
            .map_or_else(|| DisplayErrorContext(&err).to_string(), str::to_owned),
    }
}

/// Repeats `call` while `is_propagation_error` says the role it passes is not usable yet.
pub async fn retry_while_role_propagates<T, F, Fut>(
    is_propagation_error: impl Fn(&AwsError) -> bool,
    call: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    call.retry(ROLE_PROPAGATION).when(is_propagation_error).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_codes_are_recognised_and_others_are_not() {
        let gone = AwsError {
            code: Some("NoSuchEntity".into()),
            message: "role".into(),
        };
        let denied = AwsError {
            code: Some("AccessDenied".into()),
            message: "no".into(),
        };
        assert!(gone.is_not_found());
        assert!(!denied.is_not_found());
        assert_eq!(ignore_not_found(Err(gone.clone())), Ok(()));
        assert_eq!(found::<()>(Err(gone)), Ok(None));
        assert!(found::<()>(Err(denied)).is_err());
    }

    #[tokio::test]
    async fn offline_clients_fail_at_once() {
        let call = tokio::time::timeout(Duration::from_secs(10), AwsClients::offline().account_id()).await;
        assert!(call.expect("an offline call returns at once").is_err());
    }

    #[test]
    fn error_display_carries_code_and_message() {
        let err = AwsError {
            code: Some("BucketAlreadyExists".into()),
            message: "taken".into(),
        };
        assert_eq!(err.to_string(), "BucketAlreadyExists: taken");
    }
}
