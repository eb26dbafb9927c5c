//! The EFS file system the Jobs share as their work directory, its mount targets in the
//! cluster's subnets, its access point (for Jobs that mount it through the EFS CSI driver) and,
//! for those, the policy refusing every other client.

use async_trait::async_trait;
use eventdriven_core::iam::file_system_policy;

use crate::adapters::file_system;
use crate::aws::AwsError;
use crate::lifecycle::Child;
use crate::pipeline::plan::{Deployment, Pipeline, Teardown};
use crate::pipeline::state::Children;

/// Forgets the mount targets unless every recorded one is among the `live` (id, subnet) pairs,
/// and the access point unless it is among the `live` ones, so `ensure` creates them again.
fn forget_gone_parts(children: &mut Children, mount_targets: &[(String, String)], access_points: &[String]) {
    let recorded = children.mount_target_ids.clone().unwrap_or_default();
    let live = |id: &String| mount_targets.iter().any(|(live_id, _)| live_id == id);
    if recorded.is_empty() || !recorded.iter().all(live) {
        children.mount_target_ids = None;
    }
    if children
        .access_point_id
        .as_ref()
        .is_some_and(|ap| !access_points.contains(ap))
    {
        children.access_point_id = None;
    }
}

/// The pipeline's work directory: the file system, a mount target in each cluster subnet and
/// the access point the Jobs' volume claim may use. They are created and deleted as one.
pub struct FileSystem;

#[async_trait]
impl Child<Pipeline> for FileSystem {
    fn label(&self) -> &'static str {
        "EFS file system"
    }

    fn name(&self, plan: &Deployment) -> String {
        plan.names().efs_creation_token()
    }

    fn recorded<'c>(&self, children: &'c mut Children) -> &'c mut Option<String> {
        &mut children.file_system_id
    }

    async fn ensure(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        let (aws, token) = (&plan.aws, self.name(plan));
        let id = match &children.file_system_id {
            Some(id) => id.clone(),
            None => {
                let id = file_system::create(aws, &token, &plan.tags).await?;
                children.file_system_id = Some(id.clone());
                id
            }
        };
        file_system::wait_available(aws, &id).await?;
        if children.mount_target_ids.as_ref().is_none_or(Vec::is_empty) {
            let (subnets, groups) = (&plan.cluster.subnet_ids, plan.security_groups(children));
            children.mount_target_ids = Some(file_system::create_mount_targets(aws, &id, subnets, &groups).await?);
        }
        if children.access_point_id.is_none() {
            let root = plan.names().efs_access_point_root();
            children.access_point_id =
                Some(file_system::create_access_point(aws, &id, &root, &token, &plan.tags).await?);
        }
        self.apply_settings(plan, children).await
    }

    /// Mounted through the CSI driver, only TLS clients through the access point may use the
    /// file system; mounted over plain NFS, which can do neither, it has no policy.
    async fn apply_settings(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        let (Some(id), Some(access_point)) = (&children.file_system_id, &children.access_point_id) else {
            return Ok(());
        };
        match plan.spec.mounted_claim() {
            Some(_) => {
                file_system::put_policy(&plan.aws, id, &file_system_policy(&plan.names(), id, access_point)).await
            }
            None => file_system::delete_policy(&plan.aws, id).await,
        }
    }

    async fn tag(&self, plan: &Deployment, id: &str) -> Result<(), AwsError> {
        file_system::put_tags(&plan.aws, id, &plan.tags).await
    }

    /// Also forgets mount targets and an access point that are gone, so they come back.
    async fn refresh(&self, scope: &Teardown, id: &str, children: &mut Children) -> Result<bool, AwsError> {
        if file_system::life_cycle_state(&scope.aws, id).await?.is_none() {
            return Ok(false);
        }
        let mount_targets = file_system::mount_targets(&scope.aws, id).await?;
        let access_points = file_system::access_points(&scope.aws, id).await?;
        forget_gone_parts(children, &mount_targets, &access_points);
        Ok(true)
    }

    async fn delete(&self, scope: &Teardown, id: &str, _children: &Children) -> Result<(), AwsError> {
        file_system::delete(&scope.aws, id).await
    }

    fn forget(&self, children: &mut Children) {
        children.file_system_id = None;
        children.mount_target_ids = None;
        children.access_point_id = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded() -> Children {
        Children {
            file_system_id: Some("fs-1".into()),
            mount_target_ids: Some(vec!["fsmt-a".into(), "fsmt-b".into()]),
            access_point_id: Some("fsap-1".into()),
            ..Children::default()
        }
    }

    fn pairs(ids: &[&str]) -> Vec<(String, String)> {
        ids.iter()
            .map(|id| ((*id).to_owned(), format!("subnet-{id}")))
            .collect()
    }

    #[test]
    fn parts_still_there_are_kept() {
        let mut children = recorded();
        forget_gone_parts(
            &mut children,
            &pairs(&["fsmt-a", "fsmt-b", "fsmt-c"]),
            &["fsap-1".into()],
        );
        assert_eq!(children, recorded());
    }

    #[test]
    fn one_missing_mount_target_forgets_them_all_and_a_missing_access_point_is_forgotten() {
        let mut children = recorded();
        forget_gone_parts(&mut children, &pairs(&["fsmt-a"]), &["fsap-2".into()]);
        assert_eq!(children.mount_target_ids, None);
        assert_eq!(children.access_point_id, None);
        assert_eq!(children.file_system_id, Some("fs-1".into()));
    }

    #[test]
    fn no_recorded_mount_target_is_as_good_as_none() {
        let mut children = Children {
            mount_target_ids: Some(Vec::new()),
            ..recorded()
        };
        forget_gone_parts(&mut children, &pairs(&["fsmt-a"]), &["fsap-1".into()]);
        assert_eq!(children.mount_target_ids, None);
    }

    #[test]
    fn forgetting_the_file_system_forgets_its_mount_targets_and_access_point() {
        let mut children = recorded();
        FileSystem.forget(&mut children);
        assert_eq!(children, Children::default());
    }
}
