//! EFS: an encrypted file system, its mount targets (one per Availability Zone), an access
//! point confining its clients to one directory as a nonroot user, and the file system policy
//! saying which clients may mount it.

use aws_sdk_efs::types::{CreationInfo, LifeCycleState, PosixUser, RootDirectory, Tag};
use eventdriven_core::manifest::ACCESS_POINT_UID;

use crate::aws::{AwsClients, AwsError, Tags, found, ignore_not_found, sync_tags, wait_until};

fn efs_tags(tags: &Tags) -> Result<Vec<Tag>, AwsError> {
    tags.iter()
        .map(|(key, value)| Ok(Tag::builder().key(key).value(value).build()?))
        .collect()
}

/// Creates an encrypted file system; returns its id. `creation_token` makes a retried create
/// return the same file system.
pub async fn create(aws: &AwsClients, creation_token: &str, tags: &Tags) -> Result<String, AwsError> {
    let mut tags = tags.clone();
    tags.entry("Name".into()).or_insert_with(|| creation_token.to_owned());
    let created = aws
        .efs
        .create_file_system()
        .creation_token(creation_token)
        .encrypted(true)
        .set_tags(Some(efs_tags(&tags)?))
        .send()
        .await;
    let file_system_id = match created {
        Ok(out) => out.file_system_id,
        Err(err) => {
            let err = AwsError::from(err);
            if !err.has_code("FileSystemAlreadyExists") {
                return Err(err);
            }
            find_by_creation_token(aws, creation_token).await?.ok_or(err)?
        }
    };
    Ok(file_system_id)
}

/// Waits until the file system is `available`: EFS refuses mount targets before that.
pub async fn wait_available(aws: &AwsClients, file_system_id: &str) -> Result<(), AwsError> {
    wait_until(|| async {
        let state = life_cycle_state(aws, file_system_id).await?;
        match state {
            Some(LifeCycleState::Available) => Ok(Some(())),
            Some(LifeCycleState::Creating) => Ok(None),
            other => Err(AwsError::other(format!(
                "file system {file_system_id} is {other:?} instead of available"
            ))),
        }
    })
    .await
}

/// The file system created with `creation_token`, if any.
pub async fn find_by_creation_token(aws: &AwsClients, creation_token: &str) -> Result<Option<String>, AwsError> {
    let out = aws
        .efs
        .describe_file_systems()
        .creation_token(creation_token)
        .send()
        .await?;
    Ok(out.file_systems().first().map(|fs| fs.file_system_id().to_owned()))
}

/// The file system's state, or `None` when it no longer exists.
pub async fn life_cycle_state(aws: &AwsClients, file_system_id: &str) -> Result<Option<LifeCycleState>, AwsError> {
    let described = aws
        .efs
        .describe_file_systems()
        .file_system_id(file_system_id)
        .send()
        .await;
    Ok(found(described.map_err(AwsError::from))?
        .and_then(|out| out.file_systems().first().map(|fs| fs.life_cycle_state().clone()))
        .filter(|state| !matches!(state, LifeCycleState::Deleted | LifeCycleState::Deleting)))
}

/// Creates one mount target per Availability Zone among `subnet_ids` (EFS allows one per AZ;
/// a second subnet in the same AZ is skipped) and returns their ids.
pub async fn create_mount_targets(
    aws: &AwsClients,
    file_system_id: &str,
    subnet_ids: &[String],
    security_group_ids: &[String],
) -> Result<Vec<String>, AwsError> {
    let existing = mount_targets(aws, file_system_id).await?;
    let mut ids: Vec<String> = existing.iter().map(|(id, _)| id.clone()).collect();
    for subnet_id in subnet_ids {
        if existing.iter().any(|(_, subnet)| subnet == subnet_id) {
            continue;
        }
        let created = aws
            .efs
            .create_mount_target()
            .file_system_id(file_system_id)
            .subnet_id(subnet_id)
            .set_security_groups(Some(security_group_ids.to_vec()))
            .send()
            .await;
        match created {
            Ok(out) => ids.push(out.mount_target_id),
            Err(err) => {
                let err = AwsError::from(err);
                if !err.has_code("MountTargetConflict") {
                    return Err(err);
                }
            }
        }
    }
    Ok(ids)
}

/// The file system's mount targets as (id, subnet id) pairs.
pub async fn mount_targets(aws: &AwsClients, file_system_id: &str) -> Result<Vec<(String, String)>, AwsError> {
    let out = aws
        .efs
        .describe_mount_targets()
        .file_system_id(file_system_id)
        .send()
        .await;
    let Some(out) = found(out.map_err(AwsError::from))? else {
        return Ok(Vec::new());
    };
    Ok(out
        .mount_targets()
        .iter()
        .filter(|mt| {
            !matches!(
                mt.life_cycle_state(),
                LifeCycleState::Deleting | LifeCycleState::Deleted
            )
        })
        .map(|mt| (mt.mount_target_id().to_owned(), mt.subnet_id().to_owned()))
        .collect())
}

pub async fn put_tags(aws: &AwsClients, file_system_id: &str, tags: &Tags) -> Result<(), AwsError> {
    let described = aws
        .efs
        .list_tags_for_resource()
        .resource_id(file_system_id)
        .send()
        .await?;
    let current = described.tags().iter().map(|t| t.key()).filter(|key| *key != "Name");
    let untag = |stale| async move {
        let request = aws.efs.untag_resource().resource_id(file_system_id);
        request.set_tag_keys(Some(stale)).send().await?;
        Ok(())
    };
    let tag = || async {
        let request = aws.efs.tag_resource().resource_id(file_system_id);
        request.set_tags(Some(efs_tags(tags)?)).send().await?;
        Ok(())
    };
    sync_tags(current, tags, untag, tag).await
}

/// Creates the access point confining its clients to `root` (created owned by `ACCESS_POINT_UID`, the user the Jobs run as);
/// returns its id. `client_token` makes a retried create return the same access point.
pub async fn create_access_point(
    aws: &AwsClients,
    file_system_id: &str,
    root: &str,
    client_token: &str,
    tags: &Tags,
) -> Result<String, AwsError> {
    let owner = CreationInfo::builder()
        .owner_uid(ACCESS_POINT_UID)
        .owner_gid(ACCESS_POINT_UID)
        .permissions("0750")
        .build()?;
    let created = aws
        .efs
        .create_access_point()
        .client_token(client_token)
        .file_system_id(file_system_id)
        .posix_user(
            PosixUser::builder()
                .uid(ACCESS_POINT_UID)
                .gid(ACCESS_POINT_UID)
                .build()?,
        )
        .root_directory(RootDirectory::builder().path(root).creation_info(owner).build())
        .set_tags(Some(efs_tags(tags)?))
        .send()
        .await?;
    created
        .access_point_id
        .ok_or_else(|| AwsError::other("CreateAccessPoint returned no id"))
}

/// The ids of the file system's access points.
pub async fn access_points(aws: &AwsClients, file_system_id: &str) -> Result<Vec<String>, AwsError> {
    let out = aws
        .efs
        .describe_access_points()
        .file_system_id(file_system_id)
        .send()
        .await;
    Ok(found(out.map_err(AwsError::from))?
        .map(|out| {
            out.access_points()
                .iter()
                .filter_map(|ap| ap.access_point_id().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

/// Deletes the access points and mount targets, waits for the mount targets to go (EFS keeps a
/// file system in use until then), and deletes the file system.
pub async fn delete(aws: &AwsClients, file_system_id: &str) -> Result<(), AwsError> {
    for access_point_id in access_points(aws, file_system_id).await? {
        let deleted = aws
            .efs
            .delete_access_point()
            .access_point_id(access_point_id)
            .send()
            .await;
        ignore_not_found(deleted.map(drop).map_err(Into::into))?;
    }
    for (mount_target_id, _) in mount_targets(aws, file_system_id).await? {
        let deleted = aws
            .efs
            .delete_mount_target()
            .mount_target_id(mount_target_id)
            .send()
            .await;
        ignore_not_found(deleted.map(drop).map_err(Into::into))?;
    }
    wait_until(|| async { Ok(mount_targets(aws, file_system_id).await?.is_empty().then_some(())) }).await?;
    let deleted = aws.efs.delete_file_system().file_system_id(file_system_id).send().await;
    ignore_not_found(deleted.map(drop).map_err(Into::into))?;
    wait_until(|| async { Ok(life_cycle_state(aws, file_system_id).await?.is_none().then_some(())) }).await
}

/// Sets the file system's policy (an upsert).
pub async fn put_policy(aws: &AwsClients, file_system_id: &str, policy: &serde_json::Value) -> Result<(), AwsError> {
    aws.efs
        .put_file_system_policy()
        .file_system_id(file_system_id)
        .policy(policy.to_string())
        .send()
        .await?;
    Ok(())
}

/// Removes the file system's policy, leaving EFS's default (any client that reaches a mount
/// target); none set is fine.
pub async fn delete_policy(aws: &AwsClients, file_system_id: &str) -> Result<(), AwsError> {
    let out = aws
        .efs
        .delete_file_system_policy()
        .file_system_id(file_system_id)
        .send()
        .await;
    ignore_not_found(out.map(drop).map_err(Into::into))
}
