//! `eks:call` on this machine, where the cluster is this machine's processes.
//!
//! Local Jobs are processes of the current user, which need no namespace or service account, and
//! whose volumes are directories, so the local cluster has every service account and every bound
//! volume claim a definition asks for. It answers reads of them as the Kubernetes API does, and
//! refuses every other call: only what the pipeline's own definition calls is served.

use async_trait::async_trait;
use eventdriven_states::{Failure, Integration, Resource, TaskRequest};
use serde_json::{Value, json};

pub struct LocalClusterApi;

#[async_trait]
impl Integration for LocalClusterApi {
    fn serves(&self, resource: &Resource) -> bool {
        resource.service == "eks" && resource.action == "call"
    }

    async fn call(&self, request: TaskRequest) -> Result<Value, Failure> {
        let p = &request.parameters;
        let (method, path) = (
            p["Method"].as_str().unwrap_or_default(),
            p["Path"].as_str().unwrap_or_default(),
        );
        let object = match (method, namespaced_object(path)) {
            ("GET", Some((namespace, "serviceaccounts", name))) => json!({
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": { "name": name, "namespace": namespace },
            }),
            ("GET", Some((namespace, "persistentvolumeclaims", name))) => json!({
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": { "name": name, "namespace": namespace },
                "status": { "phase": "Bound" },
            }),
            _ => {
                return Err(Failure::new(
                    "EKS.405",
                    format!(
                        "{method} {path}: the local cluster answers only reads of service accounts and volume claims"
                    ),
                ));
            }
        };
        Ok(json!({ "ResponseBody": object, "StatusCode": 200, "StatusText": "OK", "Headers": {} }))
    }
}

/// `/api/v1/namespaces/NS/KIND/NAME` → `(NS, KIND, NAME)`.
fn namespaced_object(path: &str) -> Option<(&str, &str, &str)> {
    let rest = path.strip_prefix("/api/v1/namespaces/")?;
    let mut parts = rest.split('/');
    let (namespace, kind, name) = (parts.next()?, parts.next()?, parts.next()?);
    let valid = parts.next().is_none() && [namespace, kind, name].iter().all(|part| !part.is_empty());
    valid.then_some((namespace, kind, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventdriven_states::Caller;

    fn call(method: &str, path: &str) -> TaskRequest {
        TaskRequest {
            resource: Resource::parse("arn:aws:states:::eks:call").unwrap(),
            parameters: json!({ "Method": method, "Path": path }),
            token: None,
            caller: Caller {
                execution_name: "r".into(),
                execution_arn: "arn".into(),
                state_name: "CheckServiceAccount".into(),
                retry_count: 0,
            },
        }
    }

    #[tokio::test]
    async fn reads_of_service_accounts_and_claims_are_answered_and_nothing_else() {
        let api = LocalClusterApi;
        let answer = api
            .call(call(
                "GET",
                "/api/v1/namespaces/eventdriven/serviceaccounts/eventdriven-orders",
            ))
            .await
            .unwrap();
        assert_eq!(answer["StatusCode"], 200);
        assert_eq!(answer["ResponseBody"]["metadata"]["namespace"], "eventdriven");
        assert_eq!(answer["ResponseBody"]["metadata"]["name"], "eventdriven-orders");
        let claim = api
            .call(call(
                "GET",
                "/api/v1/namespaces/eventdriven/persistentvolumeclaims/eventdriven-orders-work",
            ))
            .await
            .unwrap();
        assert_eq!(claim["ResponseBody"]["status"]["phase"], "Bound");
        for (method, path) in [
            ("DELETE", "/api/v1/namespaces/eventdriven/serviceaccounts/x"),
            ("GET", "/api/v1/namespaces/eventdriven/pods"),
            ("GET", "/api/v1/namespaces/eventdriven/pods/x"),
            ("GET", "/api/v1/namespaces/eventdriven/serviceaccounts/x/token"),
        ] {
            let failure = api.call(call(method, path)).await.unwrap_err();
            assert!(failure.cause.contains(path), "{failure}");
        }
    }
}
