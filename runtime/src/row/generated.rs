//! The generated attribute: a value derived from each row's key (the partition key's text, or
//! with a sort key, the joined key of `table::key`), stored beside its columns.

use eventdriven_core::record::GeneratedKind;
use uuid::Uuid;

/// Derives the generated attribute's values.
#[derive(Clone, Debug)]
pub enum Generator {
    UuidV5(UuidV5Ids),
    /// A random UUID per row: a re-run gives new ones, so its result differs from the first.
    UuidV4,
    Sha256,
}

impl Generator {
    /// The generator of `kind` for the pipeline named `pipeline` (the namespace of UUIDv5s).
    pub fn new(kind: GeneratedKind, pipeline: &str) -> Self {
        match kind {
            GeneratedKind::UuidV5 => Generator::UuidV5(UuidV5Ids::for_pipeline(pipeline)),
            GeneratedKind::UuidV4 => Generator::UuidV4,
            GeneratedKind::Sha256 => Generator::Sha256,
        }
    }

    #[inline]
    pub fn value(&self, key: &[u8]) -> GeneratedValue {
        match self {
            Generator::UuidV5(ids) => ids.id(key),
            Generator::UuidV4 => {
                uuid_text(uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes()).into_uuid())
            }
            Generator::Sha256 => {
                use sha2::Digest;
                let digest = sha2::Sha256::digest(key);
                let mut value = GeneratedValue::default();
                for (i, byte) in digest.iter().enumerate() {
                    value.bytes[2 * i] = HEX[usize::from(byte >> 4)];
                    value.bytes[2 * i + 1] = HEX[usize::from(byte & 0xf)];
                }
                value.len = 64;
                value
            }
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Name-based UUIDs: one pipeline always gives one key the same id (the order sample's
/// ConfirmationIds).
#[derive(Clone, Debug)]
pub struct UuidV5Ids {
    /// A hasher that has taken the pipeline's namespace, cloned for each id.
    hasher: sha1::Sha1,
}

/// Fixed root namespace of every pipeline's UUIDv5s.
const ROOT_NAMESPACE: Uuid = Uuid::from_u128(0x6576_656e_7464_7269_7665_6e2d_6f72_6465);

impl UuidV5Ids {
    pub fn for_pipeline(pipeline: &str) -> Self {
        use sha1::Digest;
        let namespace = Uuid::new_v5(&ROOT_NAMESPACE, pipeline.as_bytes());
        UuidV5Ids {
            hasher: sha1::Sha1::new().chain_update(namespace.as_bytes()),
        }
    }

    /// The version 5 UUID of `key` in the pipeline's namespace (RFC 9562), hashed by `sha1`,
    /// which uses the CPU's SHA instructions: one hash per row adds up.
    pub fn id(&self, key: &[u8]) -> GeneratedValue {
        use sha1::Digest;
        let digest = self.hasher.clone().chain_update(key).finalize();
        let bytes: [u8; 16] = digest[..16].try_into().expect("a SHA-1 digest has 20 bytes");
        uuid_text(uuid::Builder::from_sha1_bytes(bytes).into_uuid())
    }
}

#[inline]
fn uuid_text(uuid: Uuid) -> GeneratedValue {
    let mut value = GeneratedValue::default();
    uuid.hyphenated().encode_lower(&mut value.bytes[..36]);
    value.len = 36;
    value
}

/// A generated value's text (ASCII, at most 64 bytes), kept on the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GeneratedValue {
    bytes: [u8; 64],
    len: u8,
}

impl Default for GeneratedValue {
    fn default() -> Self {
        GeneratedValue { bytes: [0; 64], len: 0 }
    }
}

impl GeneratedValue {
    pub fn as_str(&self) -> &str {
        // SAFETY: written only here, as a UUID's hyphenated lowercase hex or a digest's hex:
        // ASCII. (Checked twice a row, for the item and the output line, it showed in profiles.)
        unsafe { std::str::from_utf8_unchecked(&self.bytes[..usize::from(self.len)]) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_v5s_are_version_5_uuids_of_the_key() {
        let ids = UuidV5Ids::for_pipeline("orders");
        let namespace = Uuid::new_v5(&ROOT_NAMESPACE, b"orders");
        for key in ["1", "443368995", "", "ünïcode order"] {
            assert_eq!(
                ids.id(key.as_bytes()).as_str(),
                Uuid::new_v5(&namespace, key.as_bytes()).to_string()
            );
        }
    }

    #[test]
    fn uuid_v5s_are_deterministic_per_pipeline() {
        let a = UuidV5Ids::for_pipeline("orders");
        assert_eq!(a.id(b"1"), UuidV5Ids::for_pipeline("orders").id(b"1"));
        assert_ne!(a.id(b"1"), a.id(b"2"));
        assert_ne!(a.id(b"1"), UuidV5Ids::for_pipeline("other").id(b"1"));
        // The ConfirmationId of OrderId 443368995 in the pipeline "orders", as every earlier
        // version wrote it (and Python's uuid.uuid5 computes it).
        assert_eq!(a.id(b"443368995").as_str(), "7a5f958f-befa-5f4b-9a71-6a9e82887b64");
    }

    #[test]
    fn sha256_is_the_hex_digest_of_the_key() {
        let sha = Generator::new(GeneratedKind::Sha256, "p");
        assert_eq!(
            sha.value(b"abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn uuid_v4s_are_random_version_4_uuids() {
        let random = Generator::new(GeneratedKind::UuidV4, "p");
        let (a, b) = (random.value(b"k"), random.value(b"k"));
        assert_ne!(a, b);
        let uuid = Uuid::parse_str(a.as_str()).unwrap();
        assert_eq!(uuid.get_version_num(), 4);
    }
}
