//! The orders table in DynamoDB: `BatchWriteItem` 25 items a request, retrying what DynamoDB
//! hands back as unprocessed and throttled requests with backoff and jitter.

use super::{Item, Type};
use crate::retry::Backoff;
use anyhow::{Context, Result, bail};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, Select, WriteRequest};
use futures_util::{StreamExt, TryStreamExt};
use std::collections::HashMap;
use std::future::Future;

/// DynamoDB's limit of put requests in one `BatchWriteItem`.
pub const BATCH_LIMIT: usize = 25;
/// Batches of one call in flight at once.
const BATCHES_IN_FLIGHT: usize = 4;

#[derive(Clone)]
pub struct DynamoDbTable {
    client: Client,
    name: String,
}

impl DynamoDbTable {
    /// Uses the SDK's standard configuration chain (`AWS_ENDPOINT_URL` included).
    pub async fn connect(name: &str) -> Self {
        let config = crate::sdk::config().await;
        DynamoDbTable {
            client: Client::new(config),
            name: name.to_string(),
        }
    }

    /// Requests are built as batches are sent, each item dropped once converted, so only the
    /// batches in flight exist as SDK values, never a second copy of the whole chunk.
    pub async fn put_all(&self, items: Vec<Item>) -> Result<()> {
        let mut items = items.into_iter();
        let batches = std::iter::from_fn(move || {
            let batch: Vec<WriteRequest> = items
                .by_ref()
                .take(BATCH_LIMIT)
                .map(|item| write_request(&item))
                .collect();
            (!batch.is_empty()).then_some(batch)
        });
        futures_util::stream::iter(batches.map(|batch| self.write_batch(batch)))
            .buffer_unordered(BATCHES_IN_FLIGHT)
            .try_collect::<()>()
            .await
    }

    async fn write_batch(&self, batch: Vec<WriteRequest>) -> Result<()> {
        let send = |pending: Vec<WriteRequest>| async move {
            match self
                .client
                .batch_write_item()
                .request_items(&self.name, pending)
                .send()
                .await
            {
                Ok(output) => Ok(Sent::Unprocessed(
                    output
                        .unprocessed_items
                        .and_then(|mut by_table| by_table.remove(&self.name))
                        .unwrap_or_default(),
                )),
                Err(err) if is_throttling(err.code()) => Ok(Sent::Throttled),
                Err(err) => Err(err.into()),
            }
        };
        write_until_processed(batch, Backoff::REMOTE, send)
            .await
            .with_context(|| format!("BatchWriteItem to table {}", self.name))
    }

    pub async fn get(&self, key: &str) -> Result<Option<serde_json::Value>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.name)
            .key(crate::order::KEY_ATTRIBUTE, AttributeValue::S(key.to_string()))
            .consistent_read(true)
            .send()
            .await
            .with_context(|| format!("GetItem from table {}", self.name))?;
        output.item.map(|item| item_json(&item)).transpose()
    }

    /// Counts items with a paginated `Scan` (`Select: COUNT`).
    pub async fn count(&self) -> Result<u64> {
        let mut pages = self
            .client
            .scan()
            .table_name(&self.name)
            .select(Select::Count)
            .into_paginator()
            .send();
        let mut total = 0;
        while let Some(page) = pages.next().await {
            total += page.with_context(|| format!("Scan of table {}", self.name))?.count as u64;
        }
        Ok(total)
    }
}

/// What one `BatchWriteItem` call came back with.
enum Sent {
    /// Accepted; these requests were not processed and must be sent again.
    Unprocessed(Vec<WriteRequest>),
    /// Refused as a whole for capacity; all of it must be sent again.
    Throttled,
}

/// Sends `pending` until DynamoDB has processed all of it, waiting with backoff and jitter
/// between attempts, and fails once the attempts run out.
async fn write_until_processed<F, Fut>(mut pending: Vec<WriteRequest>, backoff: Backoff, mut send: F) -> Result<()>
where
    F: FnMut(Vec<WriteRequest>) -> Fut,
    Fut: Future<Output = Result<Sent>>,
{
    for attempt in 0..backoff.attempts {
        match send(pending.clone()).await? {
            Sent::Unprocessed(rest) if rest.is_empty() => return Ok(()),
            Sent::Unprocessed(rest) => pending = rest,
            Sent::Throttled => {}
        }
        tokio::time::sleep(backoff.delay(attempt)).await;
    }
    bail!(
        "{} item(s) still unprocessed after {} attempts",
        pending.len(),
        backoff.attempts
    )
}

fn is_throttling(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "InternalServerError"
        )
    )
}

fn write_request(item: &Item) -> WriteRequest {
    let attributes: HashMap<String, AttributeValue> = item
        .attributes()
        .map(|(name, kind, value)| {
            let value = match kind {
                Type::S => AttributeValue::S(value.to_string()),
                Type::N => AttributeValue::N(value.to_string()),
            };
            (name.to_string(), value)
        })
        .collect();
    let put = PutRequest::builder()
        .set_item(Some(attributes))
        .build()
        .expect("item is set");
    WriteRequest::builder().put_request(put).build()
}

/// An item in DynamoDB's JSON form, every attribute type included.
fn item_json(item: &HashMap<String, AttributeValue>) -> Result<serde_json::Value> {
    let fields = item
        .iter()
        .map(|(name, value)| {
            Ok((
                name.clone(),
                attribute_json(value).with_context(|| format!("attribute {name:?}"))?,
            ))
        })
        .collect::<Result<serde_json::Map<_, _>>>()?;
    Ok(fields.into())
}

/// One attribute as `{"<type>": value}`; binaries are base64, as DynamoDB's JSON has them.
fn attribute_json(value: &AttributeValue) -> Result<serde_json::Value> {
    use base64::Engine;
    use serde_json::json;
    let base64 =
        |blob: &aws_sdk_dynamodb::primitives::Blob| base64::engine::general_purpose::STANDARD.encode(blob.as_ref());
    Ok(match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": base64(b) }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(n) => json!({ "NULL": n }),
        AttributeValue::Ss(set) => json!({ "SS": set }),
        AttributeValue::Ns(set) => json!({ "NS": set }),
        AttributeValue::Bs(set) => json!({ "BS": set.iter().map(base64).collect::<Vec<_>>() }),
        AttributeValue::L(list) => json!({ "L": list.iter().map(attribute_json).collect::<Result<Vec<_>>>()? }),
        AttributeValue::M(map) => json!({ "M": item_json(map)? }),
        other => anyhow::bail!("an attribute type this version does not know: {other:?}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn every_attribute_type_renders_as_dynamodb_json() {
        use aws_sdk_dynamodb::primitives::Blob;
        let nested = HashMap::from([("n".to_owned(), AttributeValue::N("1".into()))]);
        let item = HashMap::from([
            ("s".to_owned(), AttributeValue::S("x".into())),
            ("b".to_owned(), AttributeValue::B(Blob::new(b"hi".to_vec()))),
            ("bool".to_owned(), AttributeValue::Bool(true)),
            ("null".to_owned(), AttributeValue::Null(true)),
            ("ss".to_owned(), AttributeValue::Ss(vec!["a".into()])),
            ("l".to_owned(), AttributeValue::L(vec![AttributeValue::N("2".into())])),
            ("m".to_owned(), AttributeValue::M(nested)),
        ]);
        assert_eq!(
            item_json(&item).unwrap(),
            serde_json::json!({
                "s": {"S": "x"}, "b": {"B": "aGk="}, "bool": {"BOOL": true}, "null": {"NULL": true},
                "ss": {"SS": ["a"]}, "l": {"L": [{"N": "2"}]}, "m": {"M": {"n": {"N": "1"}}}
            })
        );
    }

    fn requests(keys: &[&str]) -> Vec<WriteRequest> {
        keys.iter()
            .map(|key| {
                let mut item = Item::default();
                item.push_key("OrderId", key);
                write_request(&item)
            })
            .collect()
    }

    fn keys(requests: &[WriteRequest]) -> Vec<String> {
        requests
            .iter()
            .map(|r| r.put_request.as_ref().unwrap().item["OrderId"].as_s().unwrap().clone())
            .collect()
    }

    const QUICK: Backoff = Backoff {
        base: Duration::from_millis(1),
        max: Duration::from_millis(2),
        attempts: 5,
    };

    #[tokio::test]
    async fn unprocessed_items_and_throttled_calls_are_sent_again_until_done() {
        let calls = std::sync::Mutex::new(Vec::new());
        let send = |pending: Vec<WriteRequest>| {
            let mut calls = calls.lock().unwrap();
            calls.push(keys(&pending));
            let answer = match calls.len() {
                1 => Sent::Throttled,
                2 => Sent::Unprocessed(pending[1..].to_vec()),
                _ => Sent::Unprocessed(Vec::new()),
            };
            async move { Ok(answer) }
        };
        write_until_processed(requests(&["1", "2", "3"]), QUICK, send)
            .await
            .unwrap();
        assert_eq!(
            calls.into_inner().unwrap(),
            [vec!["1", "2", "3"], vec!["1", "2", "3"], vec!["2", "3"]]
        );
    }

    #[tokio::test]
    async fn gives_up_after_the_attempts_saying_how_many_items_are_left() {
        let send = |pending: Vec<WriteRequest>| async move { Ok(Sent::Unprocessed(pending[1..].to_vec())) };
        let err = write_until_processed(requests(&["1", "2", "3", "4", "5", "6", "7"]), QUICK, send)
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "2 item(s) still unprocessed after 5 attempts");
    }

    #[tokio::test]
    async fn other_errors_are_not_retried() {
        let mut calls = 0;
        let send = |_: Vec<WriteRequest>| {
            calls += 1;
            async { Err(anyhow::anyhow!("ValidationException")) }
        };
        assert!(write_until_processed(requests(&["1"]), QUICK, send).await.is_err());
        assert_eq!(calls, 1);
    }

    #[test]
    fn throttling_is_retried_and_validation_is_not() {
        assert!(is_throttling(Some("ProvisionedThroughputExceededException")));
        assert!(is_throttling(Some("ThrottlingException")));
        assert!(!is_throttling(Some("ValidationException")));
        assert!(!is_throttling(None));
    }

    #[test]
    fn write_requests_carry_every_attribute_typed() {
        let mut item = Item::default();
        item.push_key("OrderId", "1");
        item.push("UnitsSold", Type::N, "3");
        let put = write_request(&item).put_request.unwrap();
        assert_eq!(put.item["OrderId"], AttributeValue::S("1".into()));
        assert_eq!(put.item["UnitsSold"], AttributeValue::N("3".into()));
    }
}
