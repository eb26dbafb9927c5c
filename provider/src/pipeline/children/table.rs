//! The pipeline's table: one item per record, keyed as the `record` block declares (by default
//! the order sample's `OrderId`). With `table = false` there is none: nothing is created, and
//! nothing is recorded, so nothing is deleted.
//!
//! Its warm throughput is created as configured and raised in place; DynamoDB never lowers it,
//! so a configured value below the table's is said in a warning, and left.

use async_trait::async_trait;

use crate::adapters::table;
use crate::aws::AwsError;
use crate::lifecycle::{Child, OwnedSettings};
use crate::pipeline::plan::{Deployment, Pipeline, Teardown};
use crate::pipeline::state::Children;

/// The pipeline's orders table.
pub struct Table;

/// How the table is billed, as configured.
fn billing(plan: &Deployment) -> table::Billing<'_> {
    table::Billing {
        mode: plan.spec.dynamodb_billing_mode.as_str(),
        read_capacity: plan.spec.dynamodb_read_capacity,
        write_capacity: plan.spec.dynamodb_write_capacity,
    }
}

/// The table's warm throughput, as configured.
fn warm(plan: &Deployment) -> table::WarmUnits {
    table::WarmUnits {
        read: plan.spec.table_warm_read_units,
        write: plan.spec.table_warm_write_units,
    }
}

/// What bringing a table's warm throughput (`live`) to the configured one takes.
#[derive(Debug, Default, PartialEq, Eq)]
struct WarmChange {
    /// The units to raise, each configured above the table's (or above none reported).
    raise: table::WarmUnits,
    /// `(attribute, configured, live)` of each configured below the table's: not applicable.
    below: Vec<(&'static str, i64, i64)>,
}

/// Each of read and write on its own: DynamoDB raises one a request names and keeps the other.
fn warm_change(configured: table::WarmUnits, live: table::WarmUnits) -> WarmChange {
    let mut below = Vec::new();
    let mut raise = |attribute, configured, live| match (configured, live) {
        (Some(units), Some(live)) if units < live => {
            below.push((attribute, units, live));
            None
        }
        (Some(units), Some(live)) if units == live => None,
        (configured, _) => configured,
    };
    let raise = table::WarmUnits {
        read: raise("table_warm_read_units", configured.read, live.read),
        write: raise("table_warm_write_units", configured.write, live.write),
    };
    WarmChange { raise, below }
}

#[async_trait]
impl Child<Pipeline> for Table {
    fn label(&self) -> &'static str {
        "DynamoDB table"
    }

    fn name(&self, plan: &Deployment) -> String {
        plan.names().table()
    }

    fn recorded<'c>(&self, children: &'c mut Children) -> &'c mut Option<String> {
        &mut children.table_name
    }

    async fn ensure(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        if plan.spec.table && children.table_name.is_none() {
            let name = self.name(plan);
            let billing = billing(plan);
            let record = plan.spec.record();
            let (key, sort_key) = (record.key_attribute(), record.sort_key_attribute());
            table::create(&plan.aws, &name, key, sort_key, billing, warm(plan), &plan.tags).await?;
            children.table_name = Some(name.clone());
            table::wait_active(&plan.aws, &name).await?;
        }
        Ok(())
    }

    /// Bills the table as configured again when it was changed outside Terraform, and raises
    /// its warm throughput to the configured one; a configured value below the table's is
    /// said, since DynamoDB cannot lower it.
    async fn apply_settings(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        let Some(name) = &children.table_name else {
            return Ok(());
        };
        let Some(live) = table::read(&plan.aws, name).await? else {
            return Ok(());
        };
        if !live.is_billed(billing(plan)) {
            table::update_billing(&plan.aws, name, billing(plan)).await?;
        }
        let change = warm_change(warm(plan), live.warm);
        for (attribute, configured, live) in change.below {
            plan.warn(format!(
                "{attribute} = {configured} is below the {live} units a second table {name} already \
                 has: DynamoDB never lowers warm throughput, so the table keeps {live}"
            ));
        }
        if change.raise != table::WarmUnits::default() {
            table::raise_warm_throughput(&plan.aws, name, change.raise).await?;
        }
        Ok(())
    }

    async fn tag(&self, plan: &Deployment, _id: &str) -> Result<(), AwsError> {
        table::put_tags(&plan.aws, &plan.names().table_arn(), &plan.tags).await
    }

    async fn refresh(&self, scope: &Teardown, id: &str, _children: &mut Children) -> Result<bool, AwsError> {
        Ok(table::read(&scope.aws, id).await?.is_some())
    }

    async fn settings(&self, scope: &Teardown, id: &str) -> Result<OwnedSettings, AwsError> {
        Ok(table::read(&scope.aws, id)
            .await?
            .map(|t| t.settings())
            .unwrap_or_default())
    }

    async fn may_delete(&self, scope: &Teardown, id: &str) -> Result<(), AwsError> {
        let holds_orders = table::holds_items(&scope.aws, id).await?;
        scope.may_lose("DynamoDB table", holds_orders, "orders")
    }

    async fn delete(&self, scope: &Teardown, id: &str, _children: &Children) -> Result<(), AwsError> {
        table::delete(&scope.aws, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::children::fixtures;

    fn units(read: Option<i64>, write: Option<i64>) -> table::WarmUnits {
        table::WarmUnits { read, write }
    }

    #[test]
    fn warm_throughput_is_raised_above_the_table_s_and_never_lowered() {
        let live = units(Some(12_000), Some(40_000));
        assert_eq!(
            warm_change(units(None, None), live),
            WarmChange::default(),
            "unset: DynamoDB's own"
        );
        assert_eq!(
            warm_change(live, live),
            WarmChange::default(),
            "as the table has: no call"
        );
        assert_eq!(
            warm_change(units(None, Some(60_000)), live),
            WarmChange {
                raise: units(None, Some(60_000)),
                below: vec![],
            },
            "only the raised one is sent"
        );
        assert_eq!(
            warm_change(units(Some(15_000), Some(30_000)), live),
            WarmChange {
                raise: units(Some(15_000), None),
                below: vec![("table_warm_write_units", 30_000, 40_000)],
            },
            "a value below the table's is not applied, and said"
        );
        assert_eq!(
            warm_change(units(Some(1), Some(1)), units(None, None)).raise,
            units(Some(1), Some(1)),
            "none reported: raised"
        );
    }

    #[tokio::test]
    async fn the_warm_throughput_of_a_table_not_recorded_is_left_alone() {
        let mut plan = fixtures::deployment();
        plan.spec.table_warm_write_units = Some(60_000);
        // Offline clients fail every call: applying succeeds only by making none.
        Table.apply_settings(&plan, &mut Children::default()).await.unwrap();
        assert!(plan.into_warnings().is_empty());
    }

    #[tokio::test]
    async fn without_a_table_nothing_is_created_or_recorded() {
        let mut plan = fixtures::deployment();
        plan.spec.table = false;
        let mut children = Children::default();
        // Offline clients fail every call: ensuring succeeds only by making none.
        Table.ensure(&plan, &mut children).await.unwrap();
        assert_eq!(children.table_name, None);
        plan.spec.table = true;
        assert!(
            Table.ensure(&plan, &mut children).await.is_err(),
            "with one, it is created"
        );
    }
}
