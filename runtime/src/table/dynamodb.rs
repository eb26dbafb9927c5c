//! The table in DynamoDB: `BatchWriteItem` 25 items a request (no request repeats a key: the
//! items are deduplicated by key first), every attribute typed as declared, sending again what
//! DynamoDB hands back as unprocessed, with backoff and jitter. A request refused as a whole
//! (throttled, or failed transiently) is the SDK's to retry, under its retry configuration.
//! A paced table ([`DynamoDbTable::paced`]) waits on its [`WritePace`] before each request,
//! resends included, for the write units of the items it carries.

use super::pace::WritePace;
use super::{ItemRef, Items, KeyValue, TableKey, Type};
use anyhow::{Context, Result, bail};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, Select, WriteRequest};
use backon::{BackoffBuilder, ExponentialBuilder};
use futures_util::{StreamExt, TryStreamExt};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// DynamoDB's limit of put requests in one `BatchWriteItem`.
pub const BATCH_LIMIT: usize = 25;
/// Batches of one call in flight at once.
const BATCHES_IN_FLIGHT: usize = 4;

#[derive(Clone)]
pub struct DynamoDbTable {
    client: Client,
    name: String,
    /// `BatchWriteItem` requests sent, resends of unprocessed items included, and items written.
    requests: Arc<AtomicU64>,
    items: Arc<AtomicU64>,
    /// Unset, requests go out as fast as DynamoDB answers them.
    pace: Option<WritePace>,
}

impl DynamoDbTable {
    /// Uses the SDK's standard configuration chain (`AWS_ENDPOINT_URL` included).
    pub async fn connect(name: &str) -> Self {
        let config = crate::sdk::config().await;
        DynamoDbTable {
            client: Client::new(config),
            name: name.to_string(),
            requests: Arc::default(),
            items: Arc::default(),
            pace: None,
        }
    }

    /// Paces the writes to `share` write units a second (this Job's share of the table's rate).
    pub fn paced(self, share: f64) -> Self {
        DynamoDbTable {
            pace: Some(WritePace::new(share)),
            ..self
        }
    }

    /// Requests are built as batches are sent, so only the batches in flight exist as SDK
    /// values, never a second copy of the whole chunk. Returns how many requests came back with
    /// items unprocessed: how often DynamoDB throttled this write.
    pub async fn put_all(&self, mut items: Items, written: impl FnOnce(Items)) -> Result<u64> {
        items.keep_last_per_key();
        let mut unsent = items.iter();
        let batches = std::iter::from_fn(move || {
            let batch: Vec<WriteRequest> = unsent.by_ref().take(BATCH_LIMIT).map(write_request).collect();
            (!batch.is_empty()).then_some(batch)
        });
        let throttled = futures_util::stream::iter(batches.map(|batch| self.write_batch(batch)))
            .buffer_unordered(BATCHES_IN_FLIGHT)
            .try_fold(0, |total, throttled| async move { Ok(total + throttled) })
            .await?;
        written(items);
        Ok(throttled)
    }

    /// Writes one batch; returns how many of its requests came back with items unprocessed.
    async fn write_batch(&self, batch: Vec<WriteRequest>) -> Result<u64> {
        self.items.fetch_add(batch.len() as u64, Ordering::Relaxed);
        let send = |pending: Vec<WriteRequest>| async move {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let output = self
                .client
                .batch_write_item()
                .request_items(&self.name, pending)
                .send()
                .await?;
            let mut unprocessed = output.unprocessed_items.unwrap_or_default();
            Ok(unprocessed.remove(&self.name).unwrap_or_default())
        };
        write_until_processed(batch, UNPROCESSED_RETRIES, self.pace.as_ref(), send)
            .await
            .with_context(|| format!("BatchWriteItem to table {}", self.name))
    }

    /// `BatchWriteItem` requests sent so far (requests the SDK retried count once), and the
    /// items they carried (each once).
    pub fn requests_sent(&self) -> (u64, u64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.items.load(Ordering::Relaxed),
        )
    }

    /// The item of `key`.
    pub async fn get(&self, key: &TableKey<'_>) -> Result<Option<serde_json::Value>> {
        let value = |key: &KeyValue<'_>| (key.attribute.to_owned(), attribute_value(key.kind, key.value));
        let output = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(
                std::iter::once(&key.partition).chain(&key.sort).map(value).collect(),
            ))
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

/// Delays between sends of what DynamoDB left unprocessed: 50 ms doubling to 5 s, jittered,
/// 11 times, so a batch is sent at most 12 times.
const UNPROCESSED_RETRIES: ExponentialBuilder = ExponentialBuilder::new()
    .with_min_delay(Duration::from_millis(50))
    .with_max_delay(Duration::from_secs(5))
    .with_max_times(11)
    .with_jitter();

/// Sends `pending` until DynamoDB has processed all of it, waiting out each of `retries`'
/// delays between sends, and fails once they run out; with a `pace`, each send first waits for
/// its write units, and its answer adjusts the rate. Returns the sends that left items
/// unprocessed.
async fn write_until_processed<F, Fut>(
    mut pending: Vec<WriteRequest>,
    retries: impl BackoffBuilder,
    pace: Option<&WritePace>,
    mut send: F,
) -> Result<u64>
where
    F: FnMut(Vec<WriteRequest>) -> Fut,
    Fut: Future<Output = Result<Vec<WriteRequest>>>,
{
    let mut delays = retries.build();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let sent = match pace {
            Some(pace) => Some(pace.wait_for(write_units(&pending)).await),
            None => None,
        };
        pending = send(pending).await?;
        if let Some(sent) = sent {
            sent.answered(pending.is_empty());
        }
        if pending.is_empty() {
            return Ok(attempts - 1);
        }
        let Some(delay) = delays.next() else {
            bail!("{} item(s) still unprocessed after {attempts} attempts", pending.len());
        };
        tokio::time::sleep(delay).await;
    }
}

/// The write units DynamoDB charges for `requests`: each item a unit per KiB begun.
fn write_units(requests: &[WriteRequest]) -> u64 {
    requests
        .iter()
        .filter_map(|request| request.put_request.as_ref())
        .map(|put| item_bytes(&put.item).div_ceil(1024).max(1) as u64)
        .sum()
}

/// An item's size as DynamoDB counts it: each attribute's name and value in bytes.
fn item_bytes(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter().map(|(name, value)| name.len() + value_bytes(value)).sum()
}

/// A value's size: a string's UTF-8 bytes; a number about a byte per two significant digits and
/// one more; a boolean one byte. This table writes no other type.
fn value_bytes(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => {
            let mantissa = n.split(['e', 'E']).next().unwrap_or_default();
            let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
            let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
            significant.div_ceil(2) + 1
        }
        _ => 1,
    }
}

fn write_request(item: ItemRef<'_>) -> WriteRequest {
    let attributes: HashMap<String, AttributeValue> = item
        .attributes()
        .map(|(name, kind, value)| (name.to_string(), attribute_value(kind, value)))
        .collect();
    let put = PutRequest::builder()
        .set_item(Some(attributes))
        .build()
        .expect("item is set");
    WriteRequest::builder().put_request(put).build()
}

fn attribute_value(kind: Type, value: &str) -> AttributeValue {
    match kind {
        Type::S => AttributeValue::S(value.to_string()),
        Type::N => AttributeValue::N(value.to_string()),
        Type::Bool => AttributeValue::Bool(value == "true"),
    }
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
    use crate::table::item::{items, legacy};

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
        let rows: Vec<(&str, &str)> = keys.iter().map(|key| (*key, "1")).collect();
        items(&rows).iter().map(write_request).collect()
    }

    fn keys(requests: &[WriteRequest]) -> Vec<String> {
        requests
            .iter()
            .map(|r| r.put_request.as_ref().unwrap().item["OrderId"].as_s().unwrap().clone())
            .collect()
    }

    /// Five sends at most, a millisecond or two apart.
    const QUICK: ExponentialBuilder = ExponentialBuilder::new()
        .with_min_delay(Duration::from_millis(1))
        .with_max_delay(Duration::from_millis(2))
        .with_max_times(4);

    #[tokio::test]
    async fn unprocessed_items_are_sent_again_until_done() {
        let calls = std::sync::Mutex::new(Vec::new());
        let send = |pending: Vec<WriteRequest>| {
            let mut calls = calls.lock().unwrap();
            calls.push(keys(&pending));
            let unprocessed = match calls.len() {
                1 => pending[1..].to_vec(),
                2 => pending[1..].to_vec(),
                _ => Vec::new(),
            };
            async move { Ok(unprocessed) }
        };
        let throttled = write_until_processed(requests(&["1", "2", "3"]), QUICK, None, send)
            .await
            .unwrap();
        assert_eq!(throttled, 2, "two sends came back with items unprocessed");
        assert_eq!(
            calls.into_inner().unwrap(),
            [vec!["1", "2", "3"], vec!["2", "3"], vec!["3"]]
        );
    }

    #[tokio::test]
    async fn gives_up_after_the_attempts_saying_how_many_items_are_left() {
        let send = |pending: Vec<WriteRequest>| async move { Ok(pending[1..].to_vec()) };
        let err = write_until_processed(requests(&["1", "2", "3", "4", "5", "6", "7"]), QUICK, None, send)
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
        assert!(
            write_until_processed(requests(&["1"]), QUICK, None, send)
                .await
                .is_err()
        );
        assert_eq!(calls, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn paced_items_take_their_units_over_the_rate() {
        let pace = WritePace::new(50.0);
        let started = tokio::time::Instant::now();
        // 100 one-unit items in four batches at 50 units a second.
        for batch in 0..4 {
            let keys: Vec<String> = (0..25).map(|i| (batch * 25 + i).to_string()).collect();
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            let batch = requests(&keys);
            assert_eq!(write_units(&batch), 25);
            let send = |_: Vec<WriteRequest>| async { Ok(Vec::new()) };
            assert_eq!(write_until_processed(batch, QUICK, Some(&pace), send).await.unwrap(), 0);
        }
        let elapsed = started.elapsed().as_secs_f64();
        assert!((elapsed - 2.0).abs() < 1e-3, "{elapsed} s");
        assert_eq!(pace.rate(), 50.0);
    }

    #[tokio::test(start_paused = true)]
    async fn items_left_unprocessed_halve_the_pace_and_it_recovers() {
        let pace = WritePace::new(160.0);
        let mut calls = 0;
        let send = |pending: Vec<WriteRequest>| {
            calls += 1;
            let unprocessed = if calls == 1 { pending[1..].to_vec() } else { Vec::new() };
            async move { Ok(unprocessed) }
        };
        let throttled = write_until_processed(requests(&["1", "2", "3"]), QUICK, Some(&pace), send)
            .await
            .unwrap();
        assert_eq!(throttled, 1, "the throttled count is kept");
        // Halved to 80, then the resend went through whole: a sixteenth of the share back.
        assert_eq!(pace.rate(), 90.0);
        for _ in 0..7 {
            let send = |_: Vec<WriteRequest>| async { Ok(Vec::new()) };
            write_until_processed(requests(&["4"]), QUICK, Some(&pace), send)
                .await
                .unwrap();
        }
        assert_eq!(pace.rate(), 160.0);
    }

    #[test]
    fn an_item_costs_a_write_unit_per_kib_begun() {
        let mut typed = Items::default();
        typed
            .push(|item| {
                item.push_key(legacy("OrderId"), Type::N, "1200");
                item.push(legacy("Region"), Type::S, &"x".repeat(1000));
                item.push(legacy("Country"), Type::Bool, "true");
                Ok::<_, ()>(())
            })
            .unwrap();
        let request = write_request(typed.iter().next().unwrap());
        // OrderId 7 + 1200 (two significant digits: 2), Region 6 + 1000, Country 7 + 1.
        assert_eq!(
            item_bytes(&request.put_request.as_ref().unwrap().item),
            7 + 2 + 6 + 1000 + 7 + 1
        );
        assert_eq!(write_units(&[request]), 1);
        let wide = requests(&["1"]).into_iter().map(|mut request| {
            let item = &mut request.put_request.as_mut().unwrap().item;
            item.insert("Notes".into(), AttributeValue::S("n".repeat(2048)));
            request
        });
        assert_eq!(write_units(&wide.collect::<Vec<_>>()), 3);
    }

    #[test]
    fn write_requests_carry_every_attribute_typed() {
        let all = items(&[("1", "3")]);
        let put = write_request(all.iter().next().unwrap()).put_request.unwrap();
        assert_eq!(put.item["OrderId"], AttributeValue::S("1".into()));
        assert_eq!(put.item["UnitsSold"], AttributeValue::N("3".into()));
        let mut typed = Items::default();
        typed
            .push(|item| {
                item.push_key(legacy("OrderId"), Type::N, "007");
                item.push(legacy("Region"), Type::Bool, "false");
                Ok::<_, ()>(())
            })
            .unwrap();
        let put = write_request(typed.iter().next().unwrap()).put_request.unwrap();
        assert_eq!(put.item["OrderId"], AttributeValue::N("7".into()));
        assert_eq!(put.item["Region"], AttributeValue::Bool(false));
    }
}
