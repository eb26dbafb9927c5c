//! DynamoDB tables keyed by a partition key and an optional sort key, each a string (S) or a
//! number (N), billed on demand or provisioned, with a warm throughput that can be raised.

use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ProvisionedThroughput, ScalarAttributeType, Tag,
    WarmThroughput,
};
use eventdriven_core::record;

use crate::aws::{AwsClients, AwsError, Tags, WAITER_LIMIT, found, ignore_not_found, sync_tags, waiter_failed};

/// How the table is billed: on demand, or provisioned with the given read and write units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Billing<'a> {
    pub mode: &'a str,
    pub read_capacity: Option<i64>,
    pub write_capacity: Option<i64>,
}

/// A key of the table: its attribute and its type.
pub type Key<'a> = (&'a str, record::KeyType);

/// Warm throughput: the read and write units a second the table serves at once, without
/// scaling first. Either may be unset (configured) or unreported (read).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WarmUnits {
    pub read: Option<i64>,
    pub write: Option<i64>,
}

impl WarmUnits {
    /// As DynamoDB takes it; `None` when neither is set, so a request leaves it to DynamoDB.
    fn request(self) -> Option<WarmThroughput> {
        (self != WarmUnits::default()).then(|| {
            WarmThroughput::builder()
                .set_read_units_per_second(self.read)
                .set_write_units_per_second(self.write)
                .build()
        })
    }
}

/// Creates the table, keyed by `partition_key` and, when given, `sort_key`, warmed to `warm`.
pub async fn create(
    aws: &AwsClients,
    table: &str,
    partition_key: Key<'_>,
    sort_key: Option<Key<'_>>,
    billing: Billing<'_>,
    warm: WarmUnits,
    tags: &Tags,
) -> Result<(), AwsError> {
    let tags = dynamodb_tags(tags)?;
    let (definitions, key_schema) = key_schema(partition_key, sort_key)?;
    aws.dynamodb
        .create_table()
        .table_name(table)
        .set_attribute_definitions(Some(definitions))
        .set_key_schema(Some(key_schema))
        .billing_mode(BillingMode::from(billing.mode))
        .set_provisioned_throughput(provisioned_throughput(billing)?)
        .set_warm_throughput(warm.request())
        .set_tags((!tags.is_empty()).then_some(tags))
        .send()
        .await?;
    Ok(())
}

/// The attribute definitions and the key schema of a table with these keys: DynamoDB takes a
/// definition for each key attribute, and no other.
fn key_schema(
    partition_key: Key<'_>,
    sort_key: Option<Key<'_>>,
) -> Result<(Vec<AttributeDefinition>, Vec<KeySchemaElement>), AwsError> {
    let mut definitions = Vec::new();
    let mut elements = Vec::new();
    let keys = std::iter::once((partition_key, KeyType::Hash)).chain(sort_key.map(|key| (key, KeyType::Range)));
    for ((attribute, key_type), role) in keys {
        let scalar = match key_type {
            record::KeyType::S => ScalarAttributeType::S,
            record::KeyType::N => ScalarAttributeType::N,
        };
        definitions.push(
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(scalar)
                .build()?,
        );
        elements.push(
            KeySchemaElement::builder()
                .attribute_name(attribute)
                .key_type(role)
                .build()?,
        );
    }
    Ok((definitions, elements))
}

/// Waits until a new table is `ACTIVE`, when it takes writes.
pub async fn wait_active(aws: &AwsClients, table: &str) -> Result<(), AwsError> {
    aws.dynamodb
        .wait_until_table_exists()
        .table_name(table)
        .wait(WAITER_LIMIT)
        .await
        .map_err(waiter_failed)?;
    Ok(())
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
    pub billing_mode: String,
    pub read_capacity: Option<i64>,
    pub write_capacity: Option<i64>,
    pub warm: WarmUnits,
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
            let warm = t.warm_throughput();
            TableInfo {
                warm: WarmUnits {
                    read: warm.and_then(|w| w.read_units_per_second()),
                    write: warm.and_then(|w| w.write_units_per_second()),
                },
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

impl TableInfo {
    /// Whether the table is billed as `billing` says.
    pub fn is_billed(&self, billing: Billing<'_>) -> bool {
        let provisioned = BillingMode::from(billing.mode) == BillingMode::Provisioned;
        self.billing_mode == billing.mode
            && (!provisioned
                || (self.read_capacity == billing.read_capacity && self.write_capacity == billing.write_capacity))
    }

    /// How the table is billed. Its warm throughput is no setting to watch: DynamoDB raises it
    /// by itself as traffic grows, and never lowers it, so a raise is no change to set back.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        let billing = match (self.read_capacity, self.write_capacity) {
            (Some(read), Some(write)) => format!("{} read={read} write={write}", self.billing_mode),
            _ => self.billing_mode.clone(),
        };
        vec![("billing", billing)]
    }
}

/// Bills the table as `billing` says, and waits until it takes writes again.
pub async fn update_billing(aws: &AwsClients, table: &str, billing: Billing<'_>) -> Result<(), AwsError> {
    aws.dynamodb
        .update_table()
        .table_name(table)
        .billing_mode(BillingMode::from(billing.mode))
        .set_provisioned_throughput(provisioned_throughput(billing)?)
        .send()
        .await?;
    wait_active(aws, table).await
}

/// Raises the table's warm throughput to `warm` (DynamoDB never lowers it), and waits until the
/// table is `ACTIVE` again; the pre-warming itself goes on in the background.
pub async fn raise_warm_throughput(aws: &AwsClients, table: &str, warm: WarmUnits) -> Result<(), AwsError> {
    aws.dynamodb
        .update_table()
        .table_name(table)
        .set_warm_throughput(warm.request())
        .send()
        .await?;
    wait_active(aws, table).await
}

pub async fn put_tags(aws: &AwsClients, table_arn: &str, tags: &Tags) -> Result<(), AwsError> {
    let current = aws
        .dynamodb
        .list_tags_of_resource()
        .resource_arn(table_arn)
        .send()
        .await?;
    let untag = |stale| async move {
        let request = aws.dynamodb.untag_resource().resource_arn(table_arn);
        request.set_tag_keys(Some(stale)).send().await?;
        Ok(())
    };
    let tag = || async {
        let request = aws.dynamodb.tag_resource().resource_arn(table_arn);
        request.set_tags(Some(dynamodb_tags(tags)?)).send().await?;
        Ok(())
    };
    sync_tags(current.tags().iter().map(|t| t.key()), tags, untag, tag).await
}

fn dynamodb_tags(tags: &Tags) -> Result<Vec<Tag>, AwsError> {
    tags.iter()
        .map(|(key, value)| Ok(Tag::builder().key(key).value(value).build()?))
        .collect()
}

/// Whether the table holds any item.
pub async fn holds_items(aws: &AwsClients, table: &str) -> Result<bool, AwsError> {
    let scanned = aws.dynamodb.scan().table_name(table).limit(1).send().await;
    Ok(found(scanned.map_err(AwsError::from))?.is_some_and(|s| !s.items().is_empty()))
}

pub async fn delete(aws: &AwsClients, table: &str) -> Result<(), AwsError> {
    let deleted = aws.dynamodb.delete_table().table_name(table).send().await;
    ignore_not_found(deleted.map(drop).map_err(Into::into))?;
    aws.dynamodb
        .wait_until_table_not_exists()
        .table_name(table)
        .wait(WAITER_LIMIT)
        .await
        .map_err(waiter_failed)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_is_defined_with_its_type_and_the_sort_key_is_the_range() {
        let (definitions, elements) = key_schema(("OrderId", record::KeyType::S), None).unwrap();
        assert_eq!(definitions.len(), 1);
        assert_eq!(definitions[0].attribute_type(), &ScalarAttributeType::S);
        assert_eq!(elements[0].key_type(), &KeyType::Hash);

        let sort_key = Some(("Day", record::KeyType::S));
        let (definitions, elements) = key_schema(("Id", record::KeyType::N), sort_key).unwrap();
        let defined: Vec<_> = definitions
            .iter()
            .map(|d| (d.attribute_name(), d.attribute_type().clone()))
            .collect();
        assert_eq!(
            defined,
            [("Id", ScalarAttributeType::N), ("Day", ScalarAttributeType::S)]
        );
        let roles: Vec<_> = elements
            .iter()
            .map(|e| (e.attribute_name(), e.key_type().clone()))
            .collect();
        assert_eq!(roles, [("Id", KeyType::Hash), ("Day", KeyType::Range)]);
    }

    #[test]
    fn warm_throughput_is_sent_only_when_set() {
        assert_eq!(WarmUnits::default().request(), None, "DynamoDB's own");
        let write_only = WarmUnits {
            read: None,
            write: Some(40_000),
        };
        let request = write_only.request().unwrap();
        assert_eq!(
            (request.read_units_per_second(), request.write_units_per_second()),
            (None, Some(40_000))
        );
    }

    #[test]
    fn capacity_units_only_go_with_provisioned_billing() {
        let on_demand = Billing {
            mode: "PAY_PER_REQUEST",
            read_capacity: Some(5),
            write_capacity: Some(5),
        };
        assert_eq!(provisioned_throughput(on_demand).unwrap(), None);
        let provisioned = Billing {
            mode: "PROVISIONED",
            ..on_demand
        };
        let throughput = provisioned_throughput(provisioned).unwrap().unwrap();
        assert_eq!(throughput.read_capacity_units(), 5);
        assert_eq!(throughput.write_capacity_units(), 5);
        let without_units = Billing {
            write_capacity: None,
            ..provisioned
        };
        assert_eq!(provisioned_throughput(without_units).unwrap(), None);
    }
}
