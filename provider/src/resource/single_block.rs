//! A block of at most one element (`timeouts`, `trail`) as a `Value`: (de)serialized as
//! tf-provider's `serde_as_vec` does, and also read when missing, since a state written before
//! the resource had the block arrives with `null` in its place.

use serde::de::Error;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tf_provider::value::{Value, serde_as_vec};

pub fn serialize<T: Serialize, S: Serializer>(value: &Value<T>, serializer: S) -> Result<S::Ok, S::Error> {
    serde_as_vec::serialize(value, serializer)
}

pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(deserializer: D) -> Result<Value<T>, D::Error> {
    let blocks: Option<Vec<Value<T>>> = Deserialize::deserialize(deserializer)?;
    let mut blocks = blocks.unwrap_or_default().into_iter();
    let block = blocks.next().unwrap_or(Value::Null);
    if blocks.next().is_some() {
        return Err(D::Error::custom("a block of at most one element holds several"));
    }
    Ok(block)
}
