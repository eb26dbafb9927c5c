//! The pipeline's table: one item per record, keyed as the `record` block declares (by default
//! the order sample's `OrderId`). With `table = false` there is none: nothing is created, and
//! nothing is recorded, so nothing is deleted.

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
            table::create(&plan.aws, &name, key, sort_key, billing, &plan.tags).await?;
            children.table_name = Some(name.clone());
            table::wait_active(&plan.aws, &name).await?;
        }
        Ok(())
    }

    /// Bills the table as configured again when it was changed outside Terraform.
    async fn apply_settings(&self, plan: &Deployment, children: &mut Children) -> Result<(), AwsError> {
        let Some(name) = &children.table_name else {
            return Ok(());
        };
        match table::read(&plan.aws, name).await? {
            Some(live) if !live.is_billed(billing(plan)) => table::update_billing(&plan.aws, name, billing(plan)).await,
            _ => Ok(()),
        }
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
