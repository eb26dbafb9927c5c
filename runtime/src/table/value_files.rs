//! The embedded table's value files: each chunk's items, sorted by key, in an item file of its
//! own ([`super::staged`]), written once. The table's LSM-tree holds, per key, a [`Pointer`] to
//! the item's value in one of these files, so a run writes an item's bytes once (and a pointer
//! of a dozen bytes to the tree), however many chunks it had.
//!
//! A file's name is its ID (hexadecimal, 16 digits), and IDs grow in the order files are
//! staged: of items sharing a key, the one in the higher ID is the later write. A file is
//! `ID.pending` once staged (published: flushed, then renamed), and `ID.items` once the tree
//! holds pointers to it. A collection ([`Collection`]) writes its copies as `ID.items` before
//! the tree points to them, and removes what they copied after: killed in between, either the
//! copies or the originals are garbage, never anything pointed to.
//!
//! An item whose key is written again by a later file is garbage: nothing points to it. The
//! table collects when its files hold more than twice the items it has keys (see
//! [`needs_collection`]), so its files never take more than about twice the space of what is
//! live.

use super::staged;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The value files' directory inside the table's.
pub const DIR: &str = "values";
const PENDING: &str = "pending";
const TAKEN: &str = "items";
const TEMPORARY: &str = "tmp";
/// A file holding the keys the last collection counted in the table.
const KEYS_COUNTED: &str = "keys-counted";

/// A value file: its ID and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueFile {
    pub id: u64,
    pub path: PathBuf,
}

/// The value files of one table. IDs are handed out from one counter, so files staged by
/// parallel chunks of one process never share one.
pub struct ValueFiles {
    dir: PathBuf,
    next_id: AtomicU64,
}

impl ValueFiles {
    /// The files in `dir` (created if missing); a killed staging's temporary file is removed.
    pub fn open(dir: PathBuf) -> Result<Self> {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut next_id = 0;
        for (id, path, kind) in listed(&dir)? {
            if kind == TEMPORARY {
                std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            }
            next_id = next_id.max(id + 1);
        }
        Ok(ValueFiles {
            dir,
            next_id: AtomicU64::new(next_id),
        })
    }

    /// Writes `items` (ascending keys, no key twice) into a new pending file, to be published.
    pub fn stage<'a>(&self, items: impl ExactSizeIterator<Item = (&'a [u8], &'a [u8])>) -> Result<staged::Unpublished> {
        staged::write(&self.path(self.new_id(), PENDING), items)
    }

    /// Writes `items` into a new file, taken at once: nothing points to it until the caller
    /// ingests pointers to it.
    pub fn copy<'a>(&self, items: impl ExactSizeIterator<Item = (&'a [u8], &'a [u8])>) -> Result<ValueFile> {
        let id = self.new_id();
        let path = staged::write(&self.path(id, TAKEN), items)?.publish()?;
        Ok(ValueFile { id, path })
    }

    /// Moves the item files at `paths` in, pending, as the latest staged, in their order.
    pub fn adopt(&self, paths: &[PathBuf]) -> Result<()> {
        for path in paths {
            let pending = self.path(self.new_id(), PENDING);
            std::fs::rename(path, &pending)
                .with_context(|| format!("moving {} to {}", path.display(), pending.display()))?;
        }
        self.flush()
    }

    /// Files staged and not yet pointed to, oldest first.
    pub fn pending(&self) -> Result<Vec<ValueFile>> {
        self.of_kind(PENDING)
    }

    /// Files the tree points to, oldest first.
    pub fn taken(&self) -> Result<Vec<ValueFile>> {
        self.of_kind(TAKEN)
    }

    /// Renames `files`, whose items the tree now points to, to taken, and flushes the
    /// directory. Killed before, the next opening points to the same items again.
    pub fn mark_taken(&self, files: &[ValueFile]) -> Result<()> {
        for file in files {
            let taken = self.path(file.id, TAKEN);
            std::fs::rename(&file.path, &taken).with_context(|| format!("renaming {}", file.path.display()))?;
        }
        self.flush()
    }

    /// Removes `files`, to which nothing points any more, and flushes the directory.
    pub fn remove(&self, files: &[ValueFile]) -> Result<()> {
        for file in files {
            std::fs::remove_file(&file.path).with_context(|| format!("removing {}", file.path.display()))?;
        }
        self.flush()
    }

    /// The value `pointer` points to (in a file taken, or being taken).
    pub fn read(&self, pointer: Pointer) -> Result<Vec<u8>> {
        let mut path = self.path(pointer.file, TAKEN);
        if !path.exists() {
            path = self.path(pointer.file, PENDING);
        }
        staged::read_at(&path, pointer.offset, pointer.length)
    }

    /// The keys the last collection counted in the table; 0 before any.
    pub fn keys_counted(&self) -> Result<u64> {
        let path = self.dir.join(KEYS_COUNTED);
        match std::fs::read_to_string(&path) {
            Ok(text) => text
                .trim()
                .parse()
                .with_context(|| format!("reading {}: not a count", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    pub fn set_keys_counted(&self, keys: u64) -> Result<()> {
        crate::workdir::write_atomically(&self.dir.join(KEYS_COUNTED), keys.to_string().as_bytes())
    }

    fn new_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn path(&self, id: u64, kind: &str) -> PathBuf {
        self.dir.join(format!("{id:016x}.{kind}"))
    }

    fn of_kind(&self, wanted: &str) -> Result<Vec<ValueFile>> {
        let mut files: Vec<ValueFile> = listed(&self.dir)?
            .into_iter()
            .filter(|(_, _, kind)| kind == wanted)
            .map(|(id, path, _)| ValueFile { id, path })
            .collect();
        files.sort_by_key(|file| file.id);
        Ok(files)
    }

    fn flush(&self) -> Result<()> {
        crate::workdir::flush_dir(&self.dir)
    }
}

/// The value files in `dir`: ID, path and kind (the extension; a temporary file's is `tmp`).
fn listed(dir: &Path) -> Result<Vec<(u64, PathBuf, String)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry.with_context(|| format!("reading {}", dir.display()))?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name == KEYS_COUNTED || name == format!("{KEYS_COUNTED}.{TEMPORARY}") {
            continue;
        }
        let Some((id, kind)) = name
            .split_once('.')
            .and_then(|(id, kind)| Some((u64::from_str_radix(id, 16).ok()?, kind)))
        else {
            bail!(
                "{} is not a value file: the directory {} is the table's own",
                path.display(),
                dir.display()
            );
        };
        // `ID.pending.tmp` and the like: a file not yet published.
        let kind = if kind.ends_with(TEMPORARY) { TEMPORARY } else { kind }.to_owned();
        files.push((id, path, kind));
    }
    Ok(files)
}

/// Where a key's value lies: in which file, at which offset, how long. Stored as the tree's
/// value for the key, behind a byte no item's compact form starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pointer {
    pub file: u64,
    pub offset: u64,
    pub length: u32,
}

impl Pointer {
    /// The first byte of a stored pointer (an item's compact form starts with its version, 1
    /// or 2, or with `{`).
    const TAG: u8 = 0xF0;

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.clear();
        out.push(Self::TAG);
        push_varint(out, self.file);
        push_varint(out, self.offset);
        push_varint(out, u64::from(self.length));
    }

    /// The pointer `stored` holds; `None` when it holds an item (as tables of earlier versions
    /// stored them).
    pub fn decode(stored: &[u8]) -> Result<Option<Pointer>> {
        let Some((&Self::TAG, mut rest)) = stored.split_first() else {
            return Ok(None);
        };
        let mut next = || read_varint(&mut rest).context("a stored pointer is corrupt");
        let (file, offset, length) = (next()?, next()?, next()?);
        Ok(Some(Pointer {
            file,
            offset,
            length: u32::try_from(length).context("a stored pointer is corrupt")?,
        }))
    }
}

fn push_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn read_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(byte & 0x7F) << shift;
        if byte < 0x80 {
            return Some(value);
        }
    }
    None
}

/// Whether files holding `items` in all need collecting: when more than half of them may be
/// garbage. The table has at least `keys` keys: the most of the last count and of the keys
/// the latest ingestion pointed (it never deletes a key).
pub fn needs_collection(items: u64, keys: u64) -> bool {
    items > 2 * keys.max(1)
}

/// What a collection does with the table's files, given each file's items and how many of
/// them the tree points to: a file nothing points to is removed; one mostly garbage has its
/// live items copied to a new file, and is then removed; the rest stay.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Collection {
    pub remove: Vec<u64>,
    pub copy: Vec<u64>,
}

impl Collection {
    /// `files`: (ID, items, live items).
    pub fn plan(files: &[(u64, u64, u64)]) -> Collection {
        let mut plan = Collection::default();
        for &(id, items, live) in files {
            if live == 0 {
                plan.remove.push(id);
            } else if 2 * live < items {
                plan.copy.push(id);
            }
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl ExactSizeIterator<Item = (&'a [u8], &'a [u8])> {
        pairs.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes()))
    }

    #[test]
    fn files_go_from_pending_to_taken_in_the_order_they_were_staged() {
        let dir = tempfile::tempdir().unwrap();
        let files = ValueFiles::open(dir.path().join(DIR)).unwrap();
        let first = files.stage(items(&[("a", "1")])).unwrap();
        let second = files.stage(items(&[("a", "2")])).unwrap();
        // Published in the other order, they still sort in the order they were staged.
        second.publish().unwrap();
        assert_eq!(files.pending().unwrap().len(), 1);
        first.publish().unwrap();
        let pending = files.pending().unwrap();
        assert_eq!(pending.iter().map(|f| f.id).collect::<Vec<_>>(), [0, 1]);
        assert!(files.taken().unwrap().is_empty());
        files.mark_taken(&pending).unwrap();
        assert!(files.pending().unwrap().is_empty());
        let taken = files.taken().unwrap();
        assert_eq!(taken.len(), 2);
        assert_eq!(
            files
                .read(Pointer {
                    file: 1,
                    // A file's first value follows its 8-byte magic.
                    offset: 8,
                    length: 1
                })
                .unwrap(),
            b"2"
        );
        files.remove(&taken[..1]).unwrap();
        assert_eq!(files.taken().unwrap(), taken[1..]);
    }

    #[test]
    fn reopened_files_continue_the_ids_and_drop_what_a_killed_process_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DIR);
        {
            let files = ValueFiles::open(path.clone()).unwrap();
            files.stage(items(&[("a", "1")])).unwrap().publish().unwrap();
            files.copy(items(&[("b", "1")])).unwrap();
            // Killed while writing: never published.
            let _unpublished = files.stage(items(&[("c", "1")])).unwrap();
            files.set_keys_counted(7).unwrap();
        }
        let files = ValueFiles::open(path.clone()).unwrap();
        let names: Vec<String> = std::fs::read_dir(&path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        assert_eq!(files.pending().unwrap().len(), 1);
        assert_eq!(files.taken().unwrap().len(), 1, "a copy is taken as it is written");
        assert_eq!(files.keys_counted().unwrap(), 7);
        files.stage(items(&[("d", "1")])).unwrap().publish().unwrap();
        assert_eq!(files.pending().unwrap().last().unwrap().id, 3);
    }

    #[test]
    fn a_stranger_file_in_the_directory_is_named_not_touched() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"mine").unwrap();
        let err = ValueFiles::open(dir.path().to_owned()).err().unwrap();
        assert!(format!("{err:#}").contains("notes.txt"), "{err:#}");
        assert!(dir.path().join("notes.txt").exists());
    }

    #[test]
    fn pointers_round_trip_and_items_are_not_pointers() {
        let mut stored = Vec::new();
        for pointer in [
            Pointer {
                file: 0,
                offset: 16,
                length: 0,
            },
            Pointer {
                file: 1 << 40,
                offset: u64::MAX,
                length: u32::MAX,
            },
        ] {
            pointer.encode(&mut stored);
            assert_eq!(Pointer::decode(&stored).unwrap(), Some(pointer));
        }
        assert_eq!(Pointer::decode(&[2, 0, 1]).unwrap(), None);
        assert_eq!(Pointer::decode(b"{}").unwrap(), None);
        assert!(Pointer::decode(&[Pointer::TAG, 0x80]).is_err());
    }

    #[test]
    fn collection_waits_for_half_to_be_garbage_then_removes_and_copies() {
        assert!(!needs_collection(0, 0));
        assert!(!needs_collection(200, 100));
        assert!(needs_collection(201, 100));
        assert_eq!(
            Collection::plan(&[(0, 10, 0), (1, 10, 4), (2, 10, 5), (3, 10, 10)]),
            Collection {
                remove: vec![0],
                copy: vec![1]
            }
        );
    }
}
