//! The environment a listener function runs with: what the provider sets and the listener
//! library reads, named once here.

use std::collections::BTreeMap;

use crate::workflow::naming::WorkflowNames;
use crate::workflow::spec::ListenerSpec;

pub const EVENT_BUS: &str = "EVENT_BUS";
pub const EVENT_SOURCE: &str = "EVENT_SOURCE";
/// The detail types the listener may forward, comma-separated.
pub const EMITS: &str = "EMITS";
/// The workflow's bucket, when it has one.
pub const BUCKET: &str = "BUCKET";

/// The listener function's environment variables: the listener's own `environment`, and what
/// every listener learns from the workflow.
pub fn listener_environment(names: &WorkflowNames, listener: &ListenerSpec) -> BTreeMap<String, String> {
    let spec = names.spec();
    let mut env = listener.environment.clone();
    env.extend([
        (EVENT_BUS.to_owned(), spec.event_bus.clone()),
        (EVENT_SOURCE.to_owned(), spec.event_source.clone()),
        (EMITS.to_owned(), listener.emits.join(",")),
    ]);
    if spec.bucket {
        env.insert(BUCKET.to_owned(), names.bucket());
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::fixtures;

    #[test]
    fn a_listener_learns_its_bus_source_emits_and_bucket() {
        let (mut spec, aws) = (fixtures::cookies(), fixtures::aws());
        let env = listener_environment(&WorkflowNames::new(&spec, &aws), &spec.listeners[1]);
        assert_eq!(env[EVENT_BUS], "default");
        assert_eq!(env[EVENT_SOURCE], "cookie-report");
        assert_eq!(env[EMITS], "process.single.post");
        assert_eq!(env[BUCKET], "eventdriven-cookie-report-123456789012");
        spec.bucket = false;
        let env = listener_environment(&WorkflowNames::new(&spec, &aws), &spec.listeners[1]);
        assert!(!env.contains_key(BUCKET));
    }
}
