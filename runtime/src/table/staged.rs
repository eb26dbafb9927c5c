//! Item files: a chunk's items, sorted by key, in a file of their own, written once (see
//! [`super::value_files`] for their life in the embedded table). Merged in one pass (a k-way
//! merge), a run's files become one sorted stream of keys that the table ingests as a single
//! run of table files, each key with a pointer to its item's value here: every item is written
//! once, however many chunks the run had, instead of being rewritten by compactions of
//! overlapping files or copied into the table.
//!
//! The merge can be cut into key ranges ([`split_points`]), merged and ingested side by side,
//! one per core: each range's items are a sorted run of their own, apart from the others'.
//!
//! A file is `MAGIC`, then its items' values back to back, in ascending key order; then its
//! keys: per item its key's and value's lengths (`u32`, little endian) and its key's bytes;
//! then `END` and the item count (`u64`), which a reader checks; then a sparse index (its
//! length, then keys with their items' ordinals, their offsets among the keys and their
//! values' offsets); last, the keys' offset and the index's offset (`u64` each). A merge
//! reads the keys alone, a tenth of the file for an order. Files are published whole
//! (written under a temporary name, flushed, renamed), and their values then leave the page
//! cache: only a lookup reads them again. Of items sharing a key in merged files, the one in
//! the latest file (the last given) wins, as it would have had each chunk been written to the
//! table in turn. Files of the first version (`EARLIER_MAGIC`) hold each item's value after
//! its key, and still read.

use crate::workdir::{create_temporary, publish};
use anyhow::{Context, Result, bail};
use std::cmp::Ordering;
use std::fs::File;
use std::io::{BufReader, BufWriter, ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"EDSTAGE2";
/// The first version's: each item's lengths, key and value together.
const EARLIER_MAGIC: &[u8; 8] = b"EDSTAGE1";
/// In place of a key's length: the end of the items; the count follows.
const END: u32 = u32::MAX;
/// Keys a file's sparse index holds at least (where it has as many items): where a range's
/// merge starts reading, and what [`split_points`] cuts at.
const INDEX_KEYS: u64 = 32;
/// Items between two keys of a sparse index at most.
const INDEX_EVERY: u64 = 1024;
/// Read buffers of a range's merge, shared by its files: it opens one reader per staged file,
/// so memory stays the same whatever the run's chunk count.
const MERGE_BUFFER_BYTES: usize = 4 << 20;
const MIN_READ_BUFFER_BYTES: usize = 4 << 10;
const MAX_READ_BUFFER_BYTES: usize = 256 << 10;

/// Writes `items` (ascending keys, no key twice) into a new file at `path`, under its
/// temporary name until [`Unpublished::publish`].
pub fn write<'a>(path: &Path, items: impl ExactSizeIterator<Item = (&'a [u8], &'a [u8])>) -> Result<Unpublished> {
    let every = (items.len() as u64 / INDEX_KEYS).clamp(1, INDEX_EVERY);
    let path = path.to_owned();
    let mut out = BufWriter::with_capacity(MAX_READ_BUFFER_BYTES, create_temporary(&path)?);
    let mut keys: Vec<(&[u8], u32)> = Vec::with_capacity(items.len());
    let write = || -> std::io::Result<u64> {
        out.write_all(MAGIC)?;
        let mut keys_offset = MAGIC.len() as u64;
        for (key, value) in items {
            out.write_all(value)?;
            keys.push((key, length(value)?));
            keys_offset += value.len() as u64;
        }
        let (mut offset, mut value_offset) = (keys_offset, MAGIC.len() as u64);
        let mut index: Vec<(&[u8], u64, u64, u64)> = Vec::new();
        for (ordinal, &(key, value_length)) in (0u64..).zip(&keys) {
            if ordinal.is_multiple_of(every) {
                index.push((key, ordinal, offset, value_offset));
            }
            out.write_all(&length(key)?.to_le_bytes())?;
            out.write_all(&value_length.to_le_bytes())?;
            out.write_all(key)?;
            offset += 8 + key.len() as u64;
            value_offset += u64::from(value_length);
        }
        out.write_all(&END.to_le_bytes())?;
        out.write_all(&(keys.len() as u64).to_le_bytes())?;
        let index_offset = offset + 4 + 8;
        out.write_all(&(index.len() as u32).to_le_bytes())?;
        for (key, ordinal, offset, value_offset) in index {
            out.write_all(&length(key)?.to_le_bytes())?;
            out.write_all(key)?;
            out.write_all(&ordinal.to_le_bytes())?;
            out.write_all(&offset.to_le_bytes())?;
            out.write_all(&value_offset.to_le_bytes())?;
        }
        out.write_all(&keys_offset.to_le_bytes())?;
        out.write_all(&index_offset.to_le_bytes())?;
        out.flush()?;
        Ok(keys_offset)
    };
    let keys_offset = write().with_context(|| format!("writing {}", path.display()))?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    Ok(Unpublished {
        file,
        path,
        keys_offset,
    })
}

/// A file written but not yet on disk.
pub struct Unpublished {
    file: File,
    path: PathBuf,
    keys_offset: u64,
}

impl Unpublished {
    /// Flushes the file to disk and gives it its name; then lets its values leave the page
    /// cache, a hint with no effect on what reads give.
    pub fn publish(self) -> Result<PathBuf> {
        let values = self
            .file
            .try_clone()
            .with_context(|| format!("writing {}", self.path.display()))?;
        publish(self.file, &self.path)?;
        drop_from_page_cache(&values, self.keys_offset);
        Ok(self.path)
    }
}

/// Asks the kernel to drop the first `bytes` of `file`, on disk already, from the page cache.
#[cfg(target_os = "linux")]
fn drop_from_page_cache(file: &File, bytes: u64) {
    use std::os::fd::AsRawFd;
    // SAFETY: posix_fadvise reads no memory; `file` is open. A hint: its result is not needed.
    unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, bytes as libc::off_t, libc::POSIX_FADV_DONTNEED) };
}

/// Elsewhere the page cache keeps them, as it would any file.
#[cfg(not(target_os = "linux"))]
fn drop_from_page_cache(_file: &File, _bytes: u64) {}

fn length(bytes: &[u8]) -> std::io::Result<u32> {
    u32::try_from(bytes.len())
        .ok()
        .filter(|&n| n != END)
        .ok_or_else(|| std::io::Error::new(ErrorKind::InvalidInput, "an item over 4 GiB"))
}

/// How many items the file at `path` holds, from its trailer.
pub fn item_count(path: &Path) -> Result<u64> {
    let damaged = || format!("reading {}: the file is damaged", path.display());
    let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let index_offset = trailer_index_offset(&mut file).with_context(damaged)?;
    let count_at = index_offset.checked_sub(8).with_context(damaged)?;
    file.seek(SeekFrom::Start(count_at)).with_context(damaged)?;
    let mut count = [0; 8];
    file.read_exact(&mut count).with_context(damaged)?;
    Ok(u64::from_le_bytes(count))
}

/// Reads `length` bytes at `offset` of the file at `path`: a value a pointer names.
pub fn read_at(path: &Path, offset: u64, length: u32) -> Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut value = vec![0; length as usize];
    file.read_exact_at(&mut value, offset)
        .with_context(|| format!("reading {}: the file is damaged", path.display()))?;
    Ok(value)
}

fn trailer_index_offset(file: &mut File) -> std::io::Result<u64> {
    file.seek(SeekFrom::End(-8))?;
    let mut offset = [0; 8];
    file.read_exact(&mut offset)?;
    Ok(u64::from_le_bytes(offset))
}

/// An item file with its sparse index, read once for both the cut into ranges and every
/// range's start.
pub struct Indexed {
    pub path: PathBuf,
    index: Vec<IndexEntry>,
}

impl Indexed {
    pub fn read(path: &Path) -> Result<Indexed> {
        Ok(Indexed {
            path: path.to_owned(),
            index: read_index(path)?,
        })
    }
}

/// The keys that cut the items of `files` into `parts` ranges of about as many items each,
/// read from the files' sparse indexes; fewer when there are too few keys to cut at.
pub fn split_points(files: &[Indexed], parts: usize) -> Vec<Vec<u8>> {
    let mut keys: Vec<&[u8]> = files
        .iter()
        .flat_map(|file| file.index.iter().map(|entry| entry.key.as_slice()))
        .collect();
    keys.sort();
    keys.dedup();
    let parts = parts.clamp(1, keys.len().max(1));
    (1..parts)
        .map(|part| keys[part * keys.len() / parts].to_vec())
        .collect()
}

/// A range of keys: `from` included, `to` excluded; `None` leaves that side open.
#[derive(Clone, Copy, Debug, Default)]
pub struct KeyRange<'a> {
    pub from: Option<&'a [u8]>,
    pub to: Option<&'a [u8]>,
}

impl KeyRange<'_> {
    /// The ranges between consecutive `points`, covering every key.
    pub fn between(points: &[Vec<u8>]) -> Vec<KeyRange<'_>> {
        let bounds: Vec<Option<&[u8]>> = std::iter::once(None)
            .chain(points.iter().map(|p| Some(p.as_slice())))
            .chain(std::iter::once(None))
            .collect();
        bounds
            .windows(2)
            .map(|pair| KeyRange {
                from: pair[0],
                to: pair[1],
            })
            .collect()
    }

    fn below_end(&self, key: &[u8]) -> bool {
        self.to.is_none_or(|to| key < to)
    }
}

/// An item a merge gives: its key, the file it is in (its place among the merged files) and
/// where its value lies there.
pub struct Merged<'a> {
    pub key: &'a [u8],
    pub file: usize,
    pub value_offset: u64,
    pub value_length: u32,
}

/// Calls `take` with every item of `files` (oldest first) in `range`, in ascending key order,
/// each key once: of items sharing a key, the one in the latest file. Values are skipped, not
/// read. Returns how many were taken.
pub fn merge(files: &[Indexed], range: KeyRange<'_>, mut take: impl FnMut(Merged<'_>) -> Result<()>) -> Result<u64> {
    let buffer = (MERGE_BUFFER_BYTES / files.len().max(1)).clamp(MIN_READ_BUFFER_BYTES, MAX_READ_BUFFER_BYTES);
    let mut cursors = Vec::with_capacity(files.len());
    for (rank, file) in files.iter().enumerate() {
        if let Some(cursor) = Cursor::open(&file.path, &file.index, rank, buffer, range, Values::Skip)? {
            cursors.push(cursor);
        }
    }
    let mut heap = CursorHeap::new(cursors, range);
    let (mut taken, mut key) = (0, Vec::new());
    while let Some(top) = heap.top() {
        take(Merged {
            key: &top.key,
            file: top.rank,
            value_offset: top.value_offset,
            value_length: top.value_length,
        })?;
        taken += 1;
        let prefix = top.key_prefix;
        key.clear();
        key.extend_from_slice(&top.key);
        heap.advance_top()?;
        // Older items of the same key come next (the heap orders equal keys newest first).
        while heap
            .top()
            .is_some_and(|next| next.key_prefix == prefix && next.key == key)
        {
            heap.advance_top()?;
        }
    }
    Ok(taken)
}

/// Calls `each` with every item of the file at `path`, in key order: its key, its value's
/// offset and its value.
pub fn for_each(path: &Path, mut each: impl FnMut(&[u8], u64, &[u8]) -> Result<()>) -> Result<()> {
    let Some(mut cursor) = Cursor::open(path, &[], 0, MAX_READ_BUFFER_BYTES, KeyRange::default(), Values::Read)? else {
        return Ok(());
    };
    loop {
        each(&cursor.key, cursor.value_offset, &cursor.value)?;
        if !cursor.next()? {
            return Ok(());
        }
    }
}

/// How a file lays its items out (see the module's doc).
#[derive(Clone, Copy, PartialEq)]
enum Layout {
    /// Values first, then the keys: files written now.
    Separate,
    /// Each item's value after its key: files of the first version.
    Interleaved,
}

/// The layout of the file `reader` is at the start of.
fn read_layout(reader: &mut impl Read, path: &Path) -> Result<Layout> {
    let mut magic = [0; 8];
    reader
        .read_exact(&mut magic)
        .with_context(|| format!("reading {}", path.display()))?;
    match &magic {
        MAGIC => Ok(Layout::Separate),
        EARLIER_MAGIC => Ok(Layout::Interleaved),
        _ => bail!("{} is not an items file", path.display()),
    }
}

/// An entry of a file's sparse index: an item's key, its place among the file's items, where
/// it starts and where its value starts.
struct IndexEntry {
    key: Vec<u8>,
    ordinal: u64,
    offset: u64,
    value_offset: u64,
}

/// A file's sparse index, ascending.
fn read_index(path: &Path) -> Result<Vec<IndexEntry>> {
    let damaged = || format!("reading {}: the file is damaged", path.display());
    let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let layout = read_layout(&mut file, path)?;
    let index_offset = trailer_index_offset(&mut file).with_context(damaged)?;
    file.seek(SeekFrom::Start(index_offset)).with_context(damaged)?;
    let mut reader = BufReader::new(file);
    let entries = read_u32(&mut reader).with_context(damaged)?;
    let mut index = Vec::with_capacity(entries.min(1 << 16) as usize);
    for _ in 0..entries {
        let mut key = Vec::new();
        let length = read_u32(&mut reader).with_context(damaged)?;
        read_into(&mut reader, &mut key, length).with_context(damaged)?;
        let ordinal = read_u64(&mut reader).with_context(damaged)?;
        let offset = read_u64(&mut reader).with_context(damaged)?;
        let value_offset = match layout {
            Layout::Separate => read_u64(&mut reader).with_context(damaged)?,
            Layout::Interleaved => 0,
        };
        index.push(IndexEntry {
            key,
            ordinal,
            offset,
            value_offset,
        });
    }
    Ok(index)
}

/// Whether a [`Cursor`] reads its items' values or skips them.
#[derive(Clone, Copy, PartialEq)]
enum Values {
    Read,
    Skip,
}

/// A file read item by item: `key` (and `value`, when read) hold the current one.
struct Cursor {
    reader: BufReader<File>,
    /// Of a file with its values apart, when they are read: a reader at the next one.
    values_reader: Option<BufReader<File>>,
    path: PathBuf,
    /// The file's place among the merged ones: higher is newer.
    rank: usize,
    layout: Layout,
    values: Values,
    key: Vec<u8>,
    /// The key's first 16 bytes, big-endian, zero-padded: most comparisons end on it.
    key_prefix: u128,
    value: Vec<u8>,
    value_offset: u64,
    value_length: u32,
    /// Items read so far, where the next one starts, and where its value starts (in a file
    /// with its values apart).
    read: u64,
    offset: u64,
    next_value: u64,
}

impl Cursor {
    /// The file at its first item in `range` (found from `index`, the file's sparse index,
    /// when the range has a start); `None` when it holds none.
    fn open(
        path: &Path,
        index: &[IndexEntry],
        rank: usize,
        buffer: usize,
        range: KeyRange<'_>,
        values: Values,
    ) -> Result<Option<Cursor>> {
        let damaged = || format!("reading {}: the file is damaged", path.display());
        let mut file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let layout = read_layout(&mut file, path)?;
        let first = match layout {
            Layout::Separate => {
                file.seek(SeekFrom::End(-16)).with_context(damaged)?;
                read_u64(&mut file).with_context(damaged)?
            }
            Layout::Interleaved => MAGIC.len() as u64,
        };
        // From the last indexed item at or before the range's start.
        let start = match range.from {
            None => None,
            Some(from) => index.iter().take_while(|entry| entry.key.as_slice() <= from).last(),
        };
        let (read, offset, next_value) = match start {
            Some(entry) => (entry.ordinal, entry.offset, entry.value_offset),
            None => (0, first, MAGIC.len() as u64),
        };
        file.seek(SeekFrom::Start(offset)).with_context(damaged)?;
        let values_reader = match (layout, values) {
            (Layout::Separate, Values::Read) => {
                let mut values = File::open(path).with_context(|| format!("opening {}", path.display()))?;
                values.seek(SeekFrom::Start(next_value)).with_context(damaged)?;
                Some(BufReader::with_capacity(buffer, values))
            }
            _ => None,
        };
        let mut cursor = Cursor {
            reader: BufReader::with_capacity(buffer, file),
            values_reader,
            path: path.to_owned(),
            rank,
            layout,
            values,
            key: Vec::new(),
            key_prefix: 0,
            value: Vec::new(),
            value_offset: 0,
            value_length: 0,
            read,
            offset,
            next_value,
        };
        while cursor.next()? {
            if range.from.is_none_or(|from| cursor.key.as_slice() >= from) {
                return Ok(range.below_end(&cursor.key).then_some(cursor));
            }
        }
        Ok(None)
    }

    /// Reads the next item; `false` at the end, once the count checks.
    fn next(&mut self) -> Result<bool> {
        let context = || format!("reading {}: the file is damaged", self.path.display());
        let key_length = read_u32(&mut self.reader).with_context(context)?;
        if key_length == END {
            if read_u64(&mut self.reader).with_context(context)? != self.read {
                bail!("{}", context());
            }
            return Ok(false);
        }
        let value_length = read_u32(&mut self.reader).with_context(context)?;
        read_into(&mut self.reader, &mut self.key, key_length).with_context(context)?;
        self.key_prefix = key_prefix(&self.key);
        self.value_length = value_length;
        match self.layout {
            Layout::Separate => {
                self.value_offset = self.next_value;
                self.next_value += u64::from(value_length);
                self.offset += 8 + u64::from(key_length);
                if let Some(values) = &mut self.values_reader {
                    read_into(values, &mut self.value, value_length).with_context(context)?;
                }
            }
            Layout::Interleaved => {
                self.value_offset = self.offset + 8 + u64::from(key_length);
                self.offset = self.value_offset + u64::from(value_length);
                match self.values {
                    Values::Read => read_into(&mut self.reader, &mut self.value, value_length).with_context(context)?,
                    // Skipped within the read buffer where it can be; a value cut short by the
                    // file's end shows at the next read.
                    Values::Skip => self
                        .reader
                        .seek_relative(i64::from(value_length))
                        .with_context(context)?,
                }
            }
        }
        self.read += 1;
        Ok(true)
    }
}

/// The first 16 bytes of `key`, big-endian, zero-padded: of two keys whose prefixes differ,
/// the smaller prefix is the smaller key.
fn key_prefix(key: &[u8]) -> u128 {
    let mut bytes = [0; 16];
    let n = key.len().min(16);
    bytes[..n].copy_from_slice(&key[..n]);
    u128::from_be_bytes(bytes)
}

fn read_u64(reader: &mut impl Read) -> std::io::Result<u64> {
    let mut bytes = [0; 8];
    reader.read_exact(&mut bytes)?;
    Ok(u64::from_le_bytes(bytes))
}

fn read_u32(reader: &mut impl Read) -> std::io::Result<u32> {
    let mut bytes = [0; 4];
    reader.read_exact(&mut bytes)?;
    Ok(u32::from_le_bytes(bytes))
}

fn read_into(reader: &mut impl Read, buffer: &mut Vec<u8>, length: u32) -> std::io::Result<()> {
    buffer.resize(length as usize, 0);
    reader.read_exact(buffer)
}

/// A binary min-heap of cursors by their current item. The heap holds small entries, each a
/// cursor's key prefix and index: sifting moves and compares those, in one array, and reaches
/// into a cursor only when two prefixes tie.
struct CursorHeap<'a> {
    cursors: Vec<Cursor>,
    heap: Vec<HeapEntry>,
    /// A cursor past the range's end is done, as at its file's end.
    range: KeyRange<'a>,
}

#[derive(Clone, Copy)]
struct HeapEntry {
    key_prefix: u128,
    cursor: usize,
}

impl<'a> CursorHeap<'a> {
    fn new(cursors: Vec<Cursor>, range: KeyRange<'a>) -> Self {
        let heap = cursors
            .iter()
            .enumerate()
            .map(|(cursor, c)| HeapEntry {
                key_prefix: c.key_prefix,
                cursor,
            })
            .collect();
        let mut heap = CursorHeap { cursors, heap, range };
        for i in (0..heap.heap.len() / 2).rev() {
            heap.sift_down(i);
        }
        heap
    }

    fn top(&self) -> Option<&Cursor> {
        self.heap.first().map(|entry| &self.cursors[entry.cursor])
    }

    /// Moves the top cursor to its next item, or drops it at its file's or range's end.
    fn advance_top(&mut self) -> Result<()> {
        let top = &mut self.cursors[self.heap[0].cursor];
        if top.next()? && self.range.below_end(&top.key) {
            self.heap[0].key_prefix = top.key_prefix;
        } else {
            self.heap.swap_remove(0);
        }
        if !self.heap.is_empty() {
            self.sift_down(0);
        }
        Ok(())
    }

    /// Key ascending; of equal keys, the newest file first.
    fn before(&self, a: HeapEntry, b: HeapEntry) -> bool {
        if a.key_prefix != b.key_prefix {
            return a.key_prefix < b.key_prefix;
        }
        let (a, b) = (&self.cursors[a.cursor], &self.cursors[b.cursor]);
        match a.key.cmp(&b.key) {
            Ordering::Equal => a.rank > b.rank,
            order => order == Ordering::Less,
        }
    }

    /// Moves the entry at `i` down to its place, bottom-up: the path of first children is
    /// followed to a leaf, one comparison a level, then the entry climbs back to where it
    /// belongs. The entry sifted is mostly the top cursor's next key, which in keys in no
    /// particular order belongs near the bottom, so this takes about half the comparisons of
    /// checking it against both children at each level.
    fn sift_down(&mut self, start: usize) {
        let n = self.heap.len();
        let moving = self.heap[start];
        let mut hole = start;
        loop {
            let left = 2 * hole + 1;
            if left >= n {
                break;
            }
            let right = left + 1;
            let child = if right < n && self.before(self.heap[right], self.heap[left]) {
                right
            } else {
                left
            };
            self.heap[hole] = self.heap[child];
            hole = child;
        }
        while hole > start {
            let parent = (hole - 1) / 2;
            if !self.before(moving, self.heap[parent]) {
                break;
            }
            self.heap[hole] = self.heap[parent];
            hole = parent;
        }
        self.heap[hole] = moving;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `items` into the next numbered file of `dir`, published.
    fn staged(dir: &Path, items: &[(&str, &str)]) -> PathBuf {
        let path = dir.join(format!("{:06}.items", std::fs::read_dir(dir).unwrap().count()));
        let written = write(&path, items.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes()))).unwrap();
        assert!(!path.exists(), "not there before it is published");
        written.publish().unwrap()
    }

    /// The files in the order they were written.
    fn written(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        files
    }

    fn indexed(files: &[PathBuf]) -> Vec<Indexed> {
        files.iter().map(|path| Indexed::read(path).unwrap()).collect()
    }

    /// The items a merge of `files` in `range` gives, each value read where the merge says it is.
    fn merged_in(files: &[PathBuf], range: KeyRange<'_>) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let taken = merge(&indexed(files), range, |item| {
            let value = read_at(&files[item.file], item.value_offset, item.value_length)?;
            out.push((
                String::from_utf8(item.key.to_vec()).unwrap(),
                String::from_utf8(value).unwrap(),
            ));
            Ok(())
        })
        .unwrap();
        assert_eq!(taken as usize, out.len());
        out
    }

    fn merged(files: &[PathBuf]) -> Vec<(String, String)> {
        merged_in(files, KeyRange::default())
    }

    #[test]
    fn files_merge_in_key_order_and_the_latest_wins() {
        let dir = tempfile::tempdir().unwrap();
        staged(dir.path(), &[("a", "1"), ("c", "1"), ("e", "1")]);
        staged(dir.path(), &[]);
        staged(dir.path(), &[("b", "2"), ("c", "22")]);
        staged(dir.path(), &[("c", "333"), ("d", "3"), ("e", "3"), ("f", "3")]);
        let files = written(dir.path());
        assert_eq!(files.len(), 4);
        let pairs = |s: &[(&str, &str)]| -> Vec<(String, String)> {
            s.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        assert_eq!(
            merged(&files),
            pairs(&[("a", "1"), ("b", "2"), ("c", "333"), ("d", "3"), ("e", "3"), ("f", "3")])
        );
        // Without the newest file, the one before it wins.
        assert_eq!(
            merged(&files[..3]),
            pairs(&[("a", "1"), ("b", "2"), ("c", "22"), ("e", "1")])
        );
        assert_eq!(item_count(&files[3]).unwrap(), 4);
        assert_eq!(item_count(&files[1]).unwrap(), 0);
    }

    #[test]
    fn a_file_reads_back_item_by_item_with_each_value_where_a_pointer_finds_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = staged(dir.path(), &[("a", "one"), ("bb", ""), ("c", "three")]);
        let mut seen = Vec::new();
        for_each(&path, |key, offset, value| {
            assert_eq!(read_at(&path, offset, value.len() as u32)?, value);
            seen.push((String::from_utf8(key.to_vec())?, String::from_utf8(value.to_vec())?));
            Ok(())
        })
        .unwrap();
        let expected = [("a", "one"), ("bb", ""), ("c", "three")].map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(seen, expected);
        let empty = staged(dir.path(), &[]);
        for_each(&empty, |_, _, _| panic!("an empty file has no items")).unwrap();
    }

    #[test]
    fn many_files_merge_to_every_key_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = fastrand::Rng::with_seed(7);
        let mut expected = std::collections::BTreeMap::new();
        for file in 0..300 {
            let mut keys: Vec<String> = (0..50).map(|_| format!("{:06}", rng.u32(..20_000))).collect();
            keys.sort();
            keys.dedup();
            let value = file.to_string();
            let items: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), value.as_str())).collect();
            staged(dir.path(), &items);
            for key in keys {
                expected.insert(key, value.clone());
            }
        }
        let files = written(dir.path());
        let everything = merged(&files);
        assert_eq!(everything, expected.into_iter().collect::<Vec<_>>());

        // Cut into ranges, the merges together give the same items, each range its share.
        for parts in [2, 3, 7] {
            let points = split_points(&indexed(&files), parts);
            assert_eq!(points.len(), parts - 1);
            let mut joined = Vec::new();
            for range in KeyRange::between(&points) {
                let part = merged_in(&files, range);
                let share = part.len() as f64 / everything.len() as f64;
                assert!(
                    (share - 1.0 / parts as f64).abs() < 0.1,
                    "{parts} parts: a share of {share}"
                );
                joined.extend(part);
            }
            assert_eq!(joined, everything, "{parts} parts");
        }
    }

    #[test]
    fn a_damaged_file_is_named_not_merged() {
        let dir = tempfile::tempdir().unwrap();
        let path = staged(dir.path(), &[("a", "1"), ("b", "2")]);
        let bytes = std::fs::read(&path).unwrap();
        // Cut inside the values, inside the keys, inside the index and inside the trailer.
        for cut in [MAGIC.len() + 1, MAGIC.len() + 2 + 10, bytes.len() - 20, bytes.len() - 3] {
            std::fs::write(&path, &bytes[..cut]).unwrap();
            let err = Indexed::read(&path)
                .and_then(|file| merge(&[file], KeyRange::default(), |_| Ok(())))
                .unwrap_err();
            assert!(
                format!("{err:#}").contains(&path.display().to_string()),
                "cut at {cut}: {err:#}"
            );
        }
        assert!(item_count(&path).is_err());
        std::fs::write(&path, b"not staged").unwrap();
        assert!(Indexed::read(&path).is_err());
    }

    /// A file as the first version wrote it: each item's lengths, key and value together, and
    /// an index of one key.
    fn earlier_file(path: &Path, items: &[(&str, &str)]) {
        let mut bytes = EARLIER_MAGIC.to_vec();
        for (key, value) in items {
            bytes.extend((key.len() as u32).to_le_bytes());
            bytes.extend((value.len() as u32).to_le_bytes());
            bytes.extend(key.as_bytes());
            bytes.extend(value.as_bytes());
        }
        bytes.extend(END.to_le_bytes());
        bytes.extend((items.len() as u64).to_le_bytes());
        let index_offset = bytes.len() as u64;
        bytes.extend(1u32.to_le_bytes());
        bytes.extend((items[0].0.len() as u32).to_le_bytes());
        bytes.extend(items[0].0.as_bytes());
        bytes.extend(0u64.to_le_bytes());
        bytes.extend((EARLIER_MAGIC.len() as u64).to_le_bytes());
        bytes.extend(index_offset.to_le_bytes());
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn files_of_the_first_version_still_merge_and_read() {
        let dir = tempfile::tempdir().unwrap();
        let earlier = dir.path().join("000000.items");
        earlier_file(&earlier, &[("a", "old"), ("b", "old"), ("c", "old")]);
        staged(dir.path(), &[("b", "new")]);
        let files = written(dir.path());
        let pairs = |s: &[(&str, &str)]| -> Vec<(String, String)> {
            s.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        assert_eq!(merged(&files), pairs(&[("a", "old"), ("b", "new"), ("c", "old")]));
        assert_eq!(
            merged_in(
                &files,
                KeyRange {
                    from: Some(b"b"),
                    to: None
                }
            ),
            pairs(&[("b", "new"), ("c", "old")])
        );
        assert_eq!(item_count(&earlier).unwrap(), 3);
        let mut seen = Vec::new();
        for_each(&earlier, |key, offset, value| {
            assert_eq!(read_at(&earlier, offset, value.len() as u32)?, value);
            seen.push(String::from_utf8(key.to_vec())?);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, ["a", "b", "c"]);
    }

    #[test]
    fn keys_sharing_their_first_sixteen_bytes_still_merge_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let long = "0123456789abcdef";
        let (k1, k2, k3) = (format!("{long}a"), format!("{long}b"), long.to_string());
        let with_zero = format!("{long}\0");
        staged(dir.path(), &[(k1.as_str(), "1"), (k2.as_str(), "1")]);
        staged(
            dir.path(),
            &[(k3.as_str(), "2"), (with_zero.as_str(), "2"), (k2.as_str(), "2")],
        );
        let keys: Vec<String> = merged(&written(dir.path())).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, [k3, with_zero, k1, k2]);
    }
}
