//! The `ItemBatcher`: items grouped into batches of `{"BatchInput": …, "Items": […]}`, each
//! child execution's input.

use serde_json::{Map, Value};

use crate::definition::ItemBatcher;
use crate::error::Failure;
use crate::interpreter::io;
use crate::limits::PAYLOAD_LIMIT_BYTES;
use crate::path::Scope;
use crate::payload;

/// Groups `inputs` into batches of at most `MaxItemsPerBatch` items and
/// `MaxInputBytesPerBatch` bytes (a payload's limit by default), in order.
pub(crate) fn batch(inputs: Vec<Value>, batcher: &ItemBatcher, scope: Scope<'_>) -> Result<Vec<Value>, Failure> {
    let max_items = io::integer(
        batcher.max_items_per_batch,
        batcher.max_items_per_batch_path.as_deref(),
        scope,
    )?;
    let max_bytes = io::integer(
        batcher.max_input_bytes_per_batch,
        batcher.max_input_bytes_per_batch_path.as_deref(),
        scope,
    )?
    .unwrap_or(PAYLOAD_LIMIT_BYTES);
    let batch_input = match &batcher.batch_input {
        Some(template) => Some(payload::evaluate(template, scope)?),
        None => None,
    };
    let wrap = |items: Vec<Value>| {
        let mut batch = Map::new();
        if let Some(input) = &batch_input {
            batch.insert("BatchInput".into(), input.clone());
        }
        batch.insert("Items".into(), Value::Array(items));
        Value::Object(batch)
    };
    let mut batches = Vec::new();
    let (mut current, mut bytes) = (Vec::new(), 0u64);
    for item in inputs {
        let size = item.to_string().len() as u64;
        let full_by_count = max_items.is_some_and(|max| current.len() as u64 >= max);
        if !current.is_empty() && (full_by_count || bytes + size > max_bytes) {
            batches.push(wrap(std::mem::take(&mut current)));
            bytes = 0;
        }
        bytes += size;
        current.push(item);
    }
    if !current.is_empty() {
        batches.push(wrap(current));
    }
    Ok(batches)
}
