//! The EventBridge rule's event pattern: which S3 events start a run, and so what the state
//! machine's execution input is.

use serde_json::{Value, json};

/// The EventBridge pattern matching S3 "Object Created" events of the pipeline's inputs.
/// Prefix and suffix together need a wildcard, since EventBridge ORs the matchers of one field.
pub fn input_event_pattern(bucket: &str, input_prefix: &str, input_suffix: &str) -> Value {
    let key = if input_suffix.is_empty() {
        json!([{ "prefix": input_prefix }])
    } else {
        let escape = |text: &str| text.replace('\\', "\\\\").replace('*', "\\*");
        json!([{ "wildcard": format!("{}*{}", escape(input_prefix), escape(input_suffix)) }])
    };
    json!({
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": { "bucket": { "name": [bucket] }, "object": { "key": key } },
    })
}

/// The bucket, prefix and suffix an [`input_event_pattern`] matches, read back for import.
pub fn input_filter(pattern: &Value) -> Option<(String, String, String)> {
    let bucket = pattern["detail"]["bucket"]["name"][0].as_str()?.to_owned();
    let key = &pattern["detail"]["object"]["key"][0];
    if let Some(prefix) = key["prefix"].as_str() {
        return Some((bucket, prefix.to_owned(), String::new()));
    }
    let wildcard = key["wildcard"].as_str()?;
    let (mut parts, mut current, mut escaped) = (Vec::new(), String::new(), false);
    for c in wildcard.chars() {
        match (escaped, c) {
            (false, '\\') => escaped = true,
            (false, '*') => parts.push(std::mem::take(&mut current)),
            _ => {
                current.push(c);
                escaped = false;
            }
        }
    }
    parts.push(current);
    match <[String; 2]>::try_from(parts) {
        Ok([prefix, suffix]) => Some((bucket, prefix, suffix)),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_without_suffix_matches_the_prefix() {
        let pattern = input_event_pattern("b", "in/", "");
        assert_eq!(pattern["detail"]["object"]["key"], json!([{ "prefix": "in/" }]));
        assert_eq!(pattern["detail"]["bucket"]["name"], json!(["b"]));
        assert_eq!(pattern["detail-type"], json!(["Object Created"]));
    }

    #[test]
    fn pattern_with_suffix_uses_an_escaped_wildcard() {
        let pattern = input_event_pattern("b", "in*/", ".csv");
        assert_eq!(
            pattern["detail"]["object"]["key"],
            json!([{ "wildcard": "in\\*/*.csv" }])
        );
    }

    #[test]
    fn filters_read_back_from_patterns() {
        for (prefix, suffix) in [("in/", ""), ("in*/", ".csv"), ("", ".gz")] {
            let pattern = input_event_pattern("b", prefix, suffix);
            assert_eq!(input_filter(&pattern), Some(("b".into(), prefix.into(), suffix.into())));
        }
    }
}
