//! The DynamoDB orders table: one item per order, keyed by `OrderId`.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ProvisionedThroughput, ScalarAttributeType,
    TableStatus, Tag,
};

use crate::aws::{AwsClients, AwsError, Tags, found, ignore_not_found, stale_tag_keys, wait_until};

/// The partition key the runtime writes every order under.
pub const PARTITION_KEY: &str = "OrderId";

/// How the table is billed: on demand, or provisioned with the given read and write units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Billing<'a> {
    pub mode: &'a str,
    pub read_capacity: Option<i64>,
    pub write_capacity: Option<i64>,
}

pub async fn create(aws: &AwsClients, table: &str, billing: Billing<'_>, tags: &Tags) -> Result<(), AwsError> {
    let tags = tags
        .iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect::<Result<Vec<_>, _>>()?;
    aws.dynamodb
        .create_table()
        .table_name(table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(PARTITION_KEY)
                .attribute_type(ScalarAttributeType::S)
                .build()?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(PARTITION_KEY)
                .key_type(KeyType::Hash)
                .build()?,
        )
        .billing_mode(BillingMode::from(billing.mode))
        .set_provisioned_throughput(provisioned_throughput(billing)?)
        .set_tags((!tags.is_empty()).then_some(tags))
        .send()
        .await?;
    Ok(())
}

/// Waits until a new table is `ACTIVE`, when it takes writes.
pub async fn wait_active(aws: &AwsClients, table: &str) -> Result<(), AwsError> {
    wait_until(|| async {
        let status = read(aws, table).await?.and_then(|t| t.status);
        Ok((status == Some(TableStatus::Active)).then_some(()))
    })
    .await
}

/// Capacity units only go with provisioned billing (core's validation makes them required there).
fn provisioned_throughput(billing: Billing<'_>) -> Result<Option<ProvisionedThroughput>, AwsError> {
    match (billing.read_capacity, billing.write_capacity) {
        (Some(read), Some(write)) if BillingMode::from(billing.mode) == BillingMode::Provisioned => Ok(Some(
            ProvisionedThroughput::builder()
                .read_capacity_units(read)
                .write_capacity_units(write)
                .build()?,
        )),
        _ => Ok(None),
    }
}

#[derive(Debug)]
pub struct TableInfo {
    pub status: Option<TableStatus>,
    pub billing_mode: String,
    pub read_capacity: Option<i64>,
    pub write_capacity: Option<i64>,
}

pub async fn read(aws: &AwsClients, table: &str) -> Result<Option<TableInfo>, AwsError> {
    let described = aws.dynamodb.describe_table().table_name(table).send().await;
    Ok(found(described.map_err(AwsError::from))?
        .and_then(|out| out.table)
        .map(|t| {
            let provisioned = t
                .provisioned_throughput
                .as_ref()
                .filter(|p| p.read_capacity_units.is_some_and(|units| units > 0));
            TableInfo {
                status: t.table_status.clone(),
                // Tables created on demand report no summary on some endpoints; that is the default.
                billing_mode: t.billing_mode_summary.and_then(|b| b.billing_mode).map_or_else(
                    || BillingMode::PayPerRequest.as_str().to_owned(),
                    |m| m.as_str().to_owned(),
                ),
                read_capacity: provisioned.and_then(|p| p.read_capacity_units),
                write_capacity: provisioned.and_then(|p| p.write_capacity_units),
            }
        }))
}

pub async fn put_tags(aws: &AwsClients, table_arn: &str, tags: &Tags) -> Result<(), AwsError> {
    let current = aws
        .dynamodb
        .list_tags_of_resource()
        .resource_arn(table_arn)
        .send()
        .await?;
    let stale = stale_tag_keys(current.tags().iter().map(|t| t.key()), tags);
    if !stale.is_empty() {
        aws.dynamodb
            .untag_resource()
            .resource_arn(table_arn)
            .set_tag_keys(Some(stale))
            .send()
            .await?;
    }
    if !tags.is_empty() {
        let tags = tags
            .iter()
            .map(|(key, value)| Tag::builder().key(key).value(value).build())
            .collect::<Result<Vec<_>, _>>()?;
        aws.dynamodb
            .tag_resource()
            .resource_arn(table_arn)
            .set_tags(Some(tags))
            .send()
            .await?;
    }
    Ok(())
}

pub async fn delete(aws: &AwsClients, table: &str) -> Result<(), AwsError> {
    let deleted = aws.dynamodb.delete_table().table_name(table).send().await;
    ignore_not_found(deleted.map(drop).map_err(Into::into))?;
    wait_until(|| async { Ok(read(aws, table).await?.is_none().then_some(())) }).await
}
