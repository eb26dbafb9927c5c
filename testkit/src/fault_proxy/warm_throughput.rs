//! DynamoDB's warm throughput, which the emulator lacks: it ignores the `WarmThroughput` a
//! `CreateTable` or `UpdateTable` carries (an `UpdateTable` carrying nothing else is a no-op to
//! it, answered as any other) and describes every table at 0 read and 0 write units a second.
//! This stands in for it, as DynamoDB keeps it: a table created through the proxy starts where
//! a new on-demand table does (12,000 read, 4,000 write) or at what its `CreateTable` asked; an
//! `UpdateTable` raises what it names, and one lowering anything is refused with a
//! `ValidationException` before it reaches the emulator; every description of the table
//! (`DescribeTable`, and the answers of `CreateTable` and `UpdateTable`) carries the values,
//! `ACTIVE`. The `UpdateTable` calls that carried a warm throughput are kept, for a test to
//! count. Tables are known by name (not by ARN), as the provider names them.

use std::collections::HashMap;

use serde_json::{Value, json};

/// Where a new on-demand table starts, in read and write units a second.
const NEW_TABLE: WarmUnits = WarmUnits {
    read: Some(12_000),
    write: Some(4_000),
};

/// Read and write units a second, either possibly unnamed (in a request).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WarmUnits {
    pub read: Option<i64>,
    pub write: Option<i64>,
}

impl WarmUnits {
    /// The `WarmThroughput` of a request, if it carries one.
    fn requested(request: &Value) -> Option<Self> {
        let warm = request.get("WarmThroughput")?;
        Some(WarmUnits {
            read: warm["ReadUnitsPerSecond"].as_i64(),
            write: warm["WriteUnitsPerSecond"].as_i64(),
        })
    }

    /// These units, with those `request` names in their place.
    fn updated(self, request: WarmUnits) -> Self {
        WarmUnits {
            read: request.read.or(self.read),
            write: request.write.or(self.write),
        }
    }
}

/// An `UpdateTable` that carried a warm throughput: the table, and the units it named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WarmUpdate {
    pub table: String,
    pub units: WarmUnits,
}

/// The DynamoDB operations the stand-in takes part in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TableCall {
    Create,
    Update,
    Describe,
    Delete,
}

impl TableCall {
    /// The operation an `X-Amz-Target` names, if it is one of these.
    pub(super) fn of(target: Option<&str>) -> Option<Self> {
        match target?.strip_prefix("DynamoDB_20120810.")? {
            "CreateTable" => Some(TableCall::Create),
            "UpdateTable" => Some(TableCall::Update),
            "DescribeTable" => Some(TableCall::Describe),
            "DeleteTable" => Some(TableCall::Delete),
            _ => None,
        }
    }
}

/// The warm throughput of every table created through the proxy, and the updates it took.
#[derive(Default)]
pub(super) struct WarmTables {
    tables: HashMap<String, WarmUnits>,
    updates: Vec<WarmUpdate>,
}

impl WarmTables {
    /// The answer DynamoDB gives an `UpdateTable` lowering a table's warm throughput, if
    /// `request` is one.
    pub(super) fn refusal(&self, call: TableCall, request: &Value) -> Option<String> {
        let requested = WarmUnits::requested(request).filter(|_| call == TableCall::Update)?;
        let live = self.tables.get(request["TableName"].as_str()?)?;
        let lowers = |requested: Option<i64>, live: Option<i64>| requested.zip(live).is_some_and(|(r, l)| r < l);
        (lowers(requested.read, live.read) || lowers(requested.write, live.write)).then(|| {
            json!({
                "__type": "com.amazon.coral.validate#ValidationException",
                "message": "Warm throughput values cannot be decreased",
            })
            .to_string()
        })
    }

    /// Takes in what a request the emulator carried out did to the table's warm throughput.
    pub(super) fn carried_out(&mut self, call: TableCall, request: &Value) {
        let Some(table) = request["TableName"].as_str() else {
            return;
        };
        let requested = WarmUnits::requested(request);
        match call {
            TableCall::Create => {
                let units = NEW_TABLE.updated(requested.unwrap_or_default());
                self.tables.insert(table.to_owned(), units);
            }
            TableCall::Update => {
                let (Some(requested), Some(units)) = (requested, self.tables.get_mut(table)) else {
                    return;
                };
                *units = units.updated(requested);
                self.updates.push(WarmUpdate {
                    table: table.to_owned(),
                    units: requested,
                });
            }
            TableCall::Delete => {
                self.tables.remove(table);
            }
            TableCall::Describe => {}
        }
    }

    /// Puts the table's warm throughput into an answer describing it, the table as
    /// `DescribeTable` answers it (`Table`) or as the others do (`TableDescription`).
    pub(super) fn describe(&self, table: &str, answer: &mut Value) {
        let Some(units) = self.tables.get(table) else {
            return;
        };
        let Some(field) = ["Table", "TableDescription"]
            .into_iter()
            .find(|field| answer[field].is_object())
        else {
            return;
        };
        let description = &mut answer[field];
        description["WarmThroughput"] = json!({
            "ReadUnitsPerSecond": units.read,
            "WriteUnitsPerSecond": units.write,
            "Status": "ACTIVE",
        });
    }

    /// The `UpdateTable` calls that carried a warm throughput, in order.
    pub(super) fn updates(&self) -> Vec<WarmUpdate> {
        self.updates.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described(tables: &WarmTables, table: &str) -> Value {
        let mut answer = json!({"Table": {"TableName": table, "WarmThroughput": {"ReadUnitsPerSecond": 0, "WriteUnitsPerSecond": 0, "Status": "ACTIVE"}}});
        tables.describe(table, &mut answer);
        answer["Table"]["WarmThroughput"].clone()
    }

    #[test]
    fn a_table_starts_where_its_create_table_asked_and_on_demand_defaults_elsewhere() {
        let mut tables = WarmTables::default();
        let create = json!({"TableName": "t", "WarmThroughput": {"WriteUnitsPerSecond": 40000}});
        tables.carried_out(TableCall::Create, &create);
        assert_eq!(
            described(&tables, "t"),
            json!({"ReadUnitsPerSecond": 12000, "WriteUnitsPerSecond": 40000, "Status": "ACTIVE"})
        );
        assert_eq!(
            described(&tables, "other")["ReadUnitsPerSecond"],
            0,
            "a table not created through the proxy is left as described"
        );
        let mut created = json!({"TableDescription": {"TableName": "t"}});
        tables.describe("t", &mut created);
        assert_eq!(
            created["TableDescription"]["WarmThroughput"]["WriteUnitsPerSecond"],
            40000
        );
    }

    #[test]
    fn an_update_raises_what_it_names_is_kept_and_may_not_lower() {
        let mut tables = WarmTables::default();
        tables.carried_out(TableCall::Create, &json!({"TableName": "t"}));
        let raise = json!({"TableName": "t", "WarmThroughput": {"WriteUnitsPerSecond": 60000}});
        assert_eq!(tables.refusal(TableCall::Update, &raise), None);
        tables.carried_out(TableCall::Update, &raise);
        tables.carried_out(
            TableCall::Update,
            &json!({"TableName": "t", "BillingMode": "PAY_PER_REQUEST"}),
        );
        assert_eq!(described(&tables, "t")["WriteUnitsPerSecond"], 60000);
        assert_eq!(described(&tables, "t")["ReadUnitsPerSecond"], 12000, "not named: kept");
        assert_eq!(
            tables.updates(),
            [WarmUpdate {
                table: "t".into(),
                units: WarmUnits {
                    read: None,
                    write: Some(60000)
                }
            }],
            "only the update carrying a warm throughput"
        );
        let lower = json!({"TableName": "t", "WarmThroughput": {"WriteUnitsPerSecond": 50000}});
        let refusal = tables.refusal(TableCall::Update, &lower).expect("refused");
        assert!(refusal.contains("ValidationException"), "{refusal}");
        assert_eq!(tables.refusal(TableCall::Create, &lower), None);
    }

    #[test]
    fn a_deleted_table_is_forgotten_and_calls_are_told_apart_by_target() {
        let mut tables = WarmTables::default();
        tables.carried_out(TableCall::Create, &json!({"TableName": "t"}));
        tables.carried_out(TableCall::Delete, &json!({"TableName": "t"}));
        assert_eq!(described(&tables, "t")["WriteUnitsPerSecond"], 0);
        assert_eq!(
            TableCall::of(Some("DynamoDB_20120810.UpdateTable")),
            Some(TableCall::Update)
        );
        assert_eq!(TableCall::of(Some("DynamoDB_20120810.PutItem")), None);
        assert_eq!(TableCall::of(None), None);
    }
}
