//! The lifecycle every resource shares: an ordered list of children, walked forward to create,
//! heal and update, and backward to destroy.
//!
//! Each kind of child implements [`Child`] in its resource's `children/<kind>.rs`. A child
//! records its identity in the owner's state as soon as AWS returns it, before any wait, so
//! whatever stops a walk (an AWS error, a timeout) leaves behind exactly what exists: the next
//! apply finishes the job and destroy removes it.

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;

use crate::aws::AwsError;

/// A Terraform resource that owns children: what its children are built from and recorded in.
pub trait Owner: 'static {
    /// The desired configuration, resolved against AWS: what creating and updating read.
    type Plan: Sync;
    /// What refreshing and deleting need, which the state alone provides.
    type Scope: Sync;
    /// The identities of the children, as the state records them.
    type Children: Send + Sync;
}

/// The settings a child owns, as read from AWS: each under the name a plan shows it by, with
/// its value as canonical text.
pub type OwnedSettings = Vec<(&'static str, String)>;

/// Every setting the refreshed children own, under `<child label> <child name>: <setting>`.
pub type ReadSettings = BTreeMap<String, String>;

/// One kind of child: how it is named, recorded, created, updated, tagged, read and deleted.
#[async_trait]
pub trait Child<O: Owner>: Send + Sync {
    /// What the child is, as messages name it ("S3 bucket").
    fn label(&self) -> &'static str;

    /// The name the child is created under, for messages about creating or updating it.
    fn name(&self, plan: &O::Plan) -> String;

    /// Where the state records the child's identity; `None` while it does not exist.
    fn recorded<'c>(&self, children: &'c mut O::Children) -> &'c mut Option<String>;

    /// Creates whatever part of the child is missing from `children`, recording each part as
    /// soon as it exists.
    async fn ensure(&self, plan: &O::Plan, children: &mut O::Children) -> Result<(), AwsError>;

    /// Re-applies the settings that can change in place.
    async fn apply_settings(&self, _plan: &O::Plan, _children: &mut O::Children) -> Result<(), AwsError> {
        Ok(())
    }

    /// Makes the child's tags exactly the plan's.
    async fn tag(&self, _plan: &O::Plan, _id: &str) -> Result<(), AwsError> {
        Ok(())
    }

    /// Whether the child recorded as `id` still exists; it may also forget parts of itself
    /// that are gone, or note what it holds now.
    async fn refresh(&self, scope: &O::Scope, id: &str, children: &mut O::Children) -> Result<bool, AwsError>;

    /// The settings of the child recorded as `id` that apply sets in place and someone outside
    /// Terraform could change; refresh compares them with what the last apply left.
    async fn settings(&self, _scope: &O::Scope, _id: &str) -> Result<OwnedSettings, AwsError> {
        Ok(Vec::new())
    }

    /// Refuses to delete the child recorded as `id` when that would lose what it holds and the
    /// owner has not allowed it. Asked of every child before any is deleted.
    async fn may_delete(&self, _scope: &O::Scope, _id: &str) -> Result<(), AwsError> {
        Ok(())
    }

    /// Deletes the child recorded as `id`; a child already gone is fine.
    async fn delete(&self, scope: &O::Scope, id: &str, children: &O::Children) -> Result<(), AwsError>;

    /// Forgets the child, and whatever the state records along with it.
    fn forget(&self, children: &mut O::Children) {
        *self.recorded(children) = None;
    }
}

/// A child that could not be created, read, updated or deleted, with AWS's reason.
#[derive(Debug)]
pub struct Failure {
    pub action: &'static str,
    pub child: &'static str,
    pub name: String,
    pub error: AwsError,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {:?} failed: {}",
            self.action, self.child, self.name, self.error
        )
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl Failure {
    /// Builds the `map_err` adapter for one step.
    pub fn of(action: &'static str, child: &'static str, name: impl Into<String>) -> impl FnOnce(AwsError) -> Failure {
        let name = name.into();
        move |error| Failure {
            action,
            child,
            name,
            error,
        }
    }
}

/// Refuses to delete a `child` holding data (`what`) unless the owner's `force_destroy` allows it.
pub fn may_lose(owner: &str, force_destroy: bool, child: &str, holds_data: bool, what: &str) -> Result<(), AwsError> {
    if holds_data && !force_destroy {
        return Err(AwsError::other(format!(
            "the {child} still holds {what}: set force_destroy = true on the {owner} (and apply) \
             to delete them with it, or empty it first"
        )));
    }
    Ok(())
}

fn recorded<O: Owner>(child: &dyn Child<O>, children: &mut O::Children) -> Option<String> {
    child.recorded(children).clone()
}

/// Creates every child missing from `children`, in order.
pub async fn ensure<O: Owner>(
    order: &[&dyn Child<O>],
    plan: &O::Plan,
    children: &mut O::Children,
) -> Result<(), Failure> {
    for child in order {
        let result = child.ensure(plan, children).await;
        result.map_err(Failure::of("creating", child.label(), child.name(plan)))?;
    }
    Ok(())
}

/// Re-applies every child's in-place settings in order, then, when they changed, its tags.
pub async fn apply_settings<O: Owner>(
    order: &[&dyn Child<O>],
    plan: &O::Plan,
    children: &mut O::Children,
    tags_changed: bool,
) -> Result<(), Failure> {
    for child in order {
        let result = child.apply_settings(plan, children).await;
        result.map_err(Failure::of("updating", child.label(), child.name(plan)))?;
    }
    if tags_changed {
        for child in order {
            if let Some(id) = recorded(*child, children) {
                let result = child.tag(plan, &id).await;
                result.map_err(Failure::of("tagging", child.label(), id))?;
            }
        }
    }
    Ok(())
}

/// Forgets every recorded child that no longer exists, so the next plan shows it coming back,
/// and reads the settings of those that do.
pub async fn refresh<O: Owner>(
    order: &[&dyn Child<O>],
    scope: &O::Scope,
    children: &mut O::Children,
) -> Result<ReadSettings, Failure> {
    let mut settings = ReadSettings::new();
    for child in order {
        if let Some(id) = recorded(*child, children) {
            let result = child.refresh(scope, &id, children).await;
            if !result.map_err(Failure::of("reading", child.label(), &id))? {
                child.forget(children);
                continue;
            }
            let owned = child.settings(scope, &id).await;
            for (setting, value) in owned.map_err(Failure::of("reading", child.label(), &id))? {
                settings.insert(format!("{} {}: {setting}", child.label(), short_name(&id)), value);
            }
        }
    }
    Ok(settings)
}

/// A child's name within its recorded identity: an ARN's last part, or the identity itself.
fn short_name(id: &str) -> &str {
    id.rsplit(['/', ':']).next().unwrap_or(id)
}

/// Deletes every recorded child in reverse order, forgetting each once it is gone, after every
/// child has agreed to it (so a refusal deletes nothing). Only recorded children are deleted,
/// so an object that merely has a child's name (one whose creation failed because it existed
/// already) is left alone.
pub async fn destroy<O: Owner>(
    order: &[&dyn Child<O>],
    scope: &O::Scope,
    children: &mut O::Children,
) -> Result<(), Failure> {
    for child in order.iter().rev() {
        if let Some(id) = recorded(*child, children) {
            let result = child.may_delete(scope, &id).await;
            result.map_err(Failure::of("deleting", child.label(), id))?;
        }
    }
    for child in order.iter().rev() {
        if let Some(id) = recorded(*child, children) {
            let result = child.delete(scope, &id, children).await;
            result.map_err(Failure::of("deleting", child.label(), id))?;
            child.forget(children);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// An owner whose children are named slots, with a journal of the calls made.
    enum Journaled {}

    #[derive(Default)]
    struct Slots {
        ids: [Option<String>; 3],
    }

    struct Plan {
        journal: Mutex<Vec<String>>,
        fail_on: Option<&'static str>,
    }

    impl Owner for Journaled {
        type Plan = Plan;
        type Scope = Plan;
        type Children = Slots;
    }

    struct Slot(usize, &'static str);

    impl Slot {
        fn call(&self, plan: &Plan, what: &str) -> Result<(), AwsError> {
            plan.journal.lock().unwrap().push(format!("{what} {}", self.1));
            match plan.fail_on {
                Some(name) if name == self.1 => Err(AwsError::other("refused")),
                _ => Ok(()),
            }
        }
    }

    #[async_trait]
    impl Child<Journaled> for Slot {
        fn label(&self) -> &'static str {
            "slot"
        }
        fn name(&self, _plan: &Plan) -> String {
            self.1.to_owned()
        }
        fn recorded<'c>(&self, children: &'c mut Slots) -> &'c mut Option<String> {
            &mut children.ids[self.0]
        }
        async fn ensure(&self, plan: &Plan, children: &mut Slots) -> Result<(), AwsError> {
            if children.ids[self.0].is_none() {
                self.call(plan, "create")?;
                children.ids[self.0] = Some(self.1.to_owned());
            }
            Ok(())
        }
        async fn refresh(&self, plan: &Plan, _id: &str, _children: &mut Slots) -> Result<bool, AwsError> {
            Ok(plan.fail_on != Some(self.1))
        }
        async fn settings(&self, _plan: &Plan, id: &str) -> Result<OwnedSettings, AwsError> {
            Ok(vec![("size", format!("{id}-size"))])
        }
        async fn may_delete(&self, plan: &Plan, _id: &str) -> Result<(), AwsError> {
            match plan.fail_on {
                Some(name) if name == format!("keep {}", self.1) => Err(AwsError::other("holds data")),
                _ => Ok(()),
            }
        }
        async fn delete(&self, plan: &Plan, _id: &str, _children: &Slots) -> Result<(), AwsError> {
            self.call(plan, "delete")
        }
    }

    const ORDER: [&dyn Child<Journaled>; 3] = [&Slot(0, "a"), &Slot(1, "b"), &Slot(2, "c")];

    fn plan(fail_on: Option<&'static str>) -> Plan {
        Plan {
            journal: Mutex::default(),
            fail_on,
        }
    }

    #[tokio::test]
    async fn a_failed_create_keeps_what_exists_and_the_next_run_creates_only_the_rest() {
        let mut children = Slots::default();
        let failing = plan(Some("b"));
        let failure = ensure(&ORDER, &failing, &mut children).await.unwrap_err();
        assert_eq!(failure.to_string(), "creating slot \"b\" failed: refused");
        assert_eq!(children.ids, [Some("a".into()), None, None]);

        let healthy = plan(None);
        ensure(&ORDER, &healthy, &mut children).await.unwrap();
        assert_eq!(healthy.journal.into_inner().unwrap(), ["create b", "create c"]);
    }

    #[tokio::test]
    async fn destroy_walks_backwards_and_forgets_each_child_once_deleted() {
        let mut children = Slots::default();
        ensure(&ORDER, &plan(None), &mut children).await.unwrap();
        let failing = plan(Some("a"));
        destroy(&ORDER, &failing, &mut children).await.unwrap_err();
        assert_eq!(
            failing.journal.into_inner().unwrap(),
            ["delete c", "delete b", "delete a"]
        );
        assert_eq!(children.ids, [Some("a".into()), None, None]);
    }

    #[tokio::test]
    async fn a_child_that_refuses_deletion_stops_destroy_before_anything_is_deleted() {
        let mut children = Slots::default();
        ensure(&ORDER, &plan(None), &mut children).await.unwrap();
        let refusing = plan(Some("keep a"));
        let failure = destroy(&ORDER, &refusing, &mut children).await.unwrap_err();
        assert_eq!(failure.to_string(), "deleting slot \"a\" failed: holds data");
        assert!(refusing.journal.into_inner().unwrap().is_empty(), "nothing was deleted");
        assert!(children.ids.iter().all(Option::is_some));
    }

    #[tokio::test]
    async fn refresh_forgets_children_that_are_gone_and_reads_the_settings_of_the_rest() {
        let mut children = Slots::default();
        ensure(&ORDER, &plan(None), &mut children).await.unwrap();
        children.ids[2] = Some("arn:aws:iam::1:role/c".into());
        let settings = refresh(&ORDER, &plan(Some("b")), &mut children).await.unwrap();
        assert_eq!(
            children.ids,
            [Some("a".into()), None, Some("arn:aws:iam::1:role/c".into())]
        );
        let read: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            read,
            [
                ("slot a: size", "a-size"),
                ("slot c: size", "arn:aws:iam::1:role/c-size")
            ],
            "each under its child's label and name, an ARN by its last part"
        );
    }
}
