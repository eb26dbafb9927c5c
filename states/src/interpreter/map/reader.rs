//! The `ItemReader`: a Distributed Map's items read from a JSON or CSV object
//! (`s3:getObject`).

use serde_json::{Value, json};

use crate::definition::ItemReader;
use crate::error::{Failure, names};
use crate::interpreter::io;
use crate::interpreter::map::s3;
use crate::interpreter::run::{Here, Run};
use crate::path::Scope;
use crate::payload;

/// The items of the object the reader names, at most its `MaxItems`.
pub(crate) async fn read_items(
    run: &Run<'_>,
    here: &Here<'_>,
    reader: &ItemReader,
    scope: Scope<'_>,
) -> Result<Vec<Value>, Failure> {
    let reader_failed = |cause: String| Failure::new(names::ITEM_READER_FAILED, cause);
    let parameters = match &reader.parameters {
        Some(template) => payload::evaluate(template, scope)?,
        None => json!({}),
    };
    let object = s3::call(run, here, &reader.resource, parameters)
        .await
        .map_err(|f| reader_failed(format!("reading the items failed: {f}")))?;
    let body = object["Body"]
        .as_str()
        .ok_or_else(|| reader_failed("the object has no Body".into()))?;
    let config = &reader.reader_config;
    let mut items = match config.input_type.as_deref().unwrap_or("JSON") {
        "JSON" => match serde_json::from_str(body) {
            Ok(Value::Array(items)) => items,
            Ok(_) => return Err(reader_failed("a JSON item source must hold an array".into())),
            Err(e) => return Err(reader_failed(format!("the item source is not valid JSON: {e}"))),
        },
        "CSV" => csv_items(
            body,
            config.csv_header_location.as_deref(),
            config.csv_headers.as_deref(),
        )
        .map_err(reader_failed)?,
        other => return Err(reader_failed(format!("InputType {other:?} is not supported"))),
    };
    let max_items = io::integer(config.max_items, config.max_items_path.as_deref(), scope)?;
    if let Some(max) = max_items.filter(|max| *max > 0) {
        items.truncate(max as usize);
    }
    Ok(items)
}

/// CSV rows as objects keyed by the header (the first row, or the given headers).
fn csv_items(body: &str, header_location: Option<&str>, given: Option<&[String]>) -> Result<Vec<Value>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body.as_bytes());
    let mut rows = reader.records();
    let headers: Vec<String> = match header_location.unwrap_or("FIRST_ROW") {
        "GIVEN" => given.ok_or("CSVHeaderLocation GIVEN needs CSVHeaders")?.to_vec(),
        _ => match rows.next() {
            Some(row) => row.map_err(|e| e.to_string())?.iter().map(str::to_owned).collect(),
            None => return Ok(Vec::new()),
        },
    };
    rows.map(|row| {
        let row = row.map_err(|e| e.to_string())?;
        if row.len() != headers.len() {
            return Err(format!(
                "CSV row {} has {} fields, the header has {}",
                row.position().map_or(0, |p| p.line()),
                row.len(),
                headers.len()
            ));
        }
        Ok(Value::Object(
            headers
                .iter()
                .cloned()
                .zip(row.iter().map(|f| Value::String(f.to_owned())))
                .collect(),
        ))
    })
    .collect()
}
