//! Parquet column chunks written below the arrow writer: dictionary-encoded
//! text and integer columns ([`DictColumn`]) and plain 64-bit counters
//! ([`PlainU64`]).
//!
//! The arrow writer dictionary-encodes a string column by interning every
//! cell again (hash + byte compare per value), whatever dictionary the input
//! array already has: for 1.8 M rows × 25 text columns that was about half
//! of a run's CPU time. The sink already knows each cell's dictionary key, so
//! a [`DictColumn`] takes the keys as they are and writes what a Parquet
//! writer would: one PLAIN dictionary page per row group followed by
//! `RLE_DICTIONARY` data pages (format v1, one per record batch, the keys in
//! the RLE / bit-packed hybrid encoding), each zstd-compressed, plus the
//! column chunk's metadata and offset index, ready for
//! `SerializedRowGroupWriter::append_column`. Integer columns (date, time,
//! ports, interval) are dictionary-encoded the same way, with chunk min/max
//! statistics as the arrow writer wrote them; the counters (mostly distinct
//! values) are PLAIN pages with min/max.

use bytes::Bytes;
use parquet::basic::{Compression, Encoding};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::ParquetError;
use parquet::file::metadata::ColumnChunkMetaData;
use parquet::file::page_index::offset_index::{OffsetIndexMetaData, PageLocation};
use parquet::file::statistics::Statistics;
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

/// zstd level of every page (parquet's own default, `ZstdLevel::default()`).
pub(super) const ZSTD_LEVEL: i32 = 1;

/// One compressed data page waiting for the end of its row group.
struct DataPage {
    data: Bytes,
    uncompressed: usize,
    /// Level entries (values, and empty maps).
    values: u32,
    rows: u32,
}

/// The physical type of a dictionary's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// BYTE_ARRAY (UTF-8 text).
    Text,
    /// INT32 (dates, 16-bit unsigned integers).
    Int32,
    /// INT64 (timestamps).
    Int64,
    /// FIXED_LEN_BYTE_ARRAY(16) (IPv6 addresses, network order).
    Fixed16,
}

/// A dictionary-encoded column of the open row group: its dictionary, the
/// keys of the batch being gathered, and the data pages of the batches before.
pub(super) struct DictColumn {
    kind: Kind,
    /// The dictionary page's body: each value PLAIN-encoded (text: u32 LE
    /// length and bytes; integers: 4 or 8 bytes LE), in key order.
    dict: Vec<u8>,
    entries: u32,
    /// Smallest and largest integer in the dictionary (for statistics).
    min_max: Option<(i64, i64)>,
    /// Keys of the rows gathered since the last page.
    pub keys: Vec<u32>,
    pages: Vec<DataPage>,
    compressor: zstd::bulk::Compressor<'static>,
    scratch: Vec<u8>,
}

fn zstd_error(e: std::io::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl DictColumn {
    pub fn new(kind: Kind) -> Result<DictColumn, ParquetError> {
        Ok(DictColumn {
            kind,
            dict: Vec::new(),
            entries: 0,
            min_max: None,
            keys: Vec::new(),
            pages: Vec::new(),
            compressor: zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(zstd_error)?,
            scratch: Vec::new(),
        })
    }

    /// Adds `value` to the dictionary; returns its key. The caller makes
    /// sure a value is added once per row group.
    #[inline]
    pub fn add(&mut self, value: &[u8]) -> u32 {
        debug_assert_eq!(self.kind, Kind::Text);
        let key = self.entries;
        self.dict
            .extend_from_slice(&(value.len() as u32).to_le_bytes());
        self.dict.extend_from_slice(value);
        self.entries += 1;
        key
    }

    /// Adds 16 bytes to a `Fixed16` dictionary; returns its key. (PLAIN
    /// FIXED_LEN_BYTE_ARRAY is the bytes alone, no length.)
    #[inline]
    pub fn add_fixed16(&mut self, value: &[u8; 16]) -> u32 {
        debug_assert_eq!(self.kind, Kind::Fixed16);
        let key = self.entries;
        self.dict.extend_from_slice(value);
        self.entries += 1;
        key
    }

    /// Adds an integer (which must fit the column's type); returns its key.
    #[inline]
    pub fn add_int(&mut self, value: i64) -> u32 {
        let key = self.entries;
        match self.kind {
            Kind::Int32 => self.dict.extend_from_slice(&(value as i32).to_le_bytes()),
            Kind::Int64 => self.dict.extend_from_slice(&value.to_le_bytes()),
            Kind::Text | Kind::Fixed16 => unreachable!("an integer in a byte dictionary"),
        }
        self.min_max = Some(match self.min_max {
            Some((lo, hi)) => (lo.min(value), hi.max(value)),
            None => (value, value),
        });
        self.entries += 1;
        key
    }

    /// Values in the dictionary of the open row group.
    pub fn entries(&self) -> u32 {
        self.entries
    }

    /// Encodes and compresses the keys gathered so far as one data page.
    pub fn finish_page(&mut self) -> Result<(), ParquetError> {
        if self.keys.is_empty() {
            return Ok(());
        }
        let width = bit_width(self.entries);
        self.scratch.clear();
        self.scratch.push(width);
        encode_hybrid(&self.keys, width, &mut self.scratch);
        let data = self
            .compressor
            .compress(&self.scratch)
            .map_err(zstd_error)?;
        self.pages.push(DataPage {
            data: Bytes::from(data),
            uncompressed: self.scratch.len(),
            values: self.keys.len() as u32,
            rows: self.keys.len() as u32,
        });
        self.keys.clear();
        Ok(())
    }

    /// Writes the row group's column chunk (dictionary page, then the data
    /// pages) and starts an empty dictionary for the next row group.
    pub fn close(
        &mut self,
        descr: ColumnDescPtr,
        rows: u64,
    ) -> Result<(Bytes, ColumnCloseResult), ParquetError> {
        self.finish_page()?;
        let dict = std::mem::take(&mut self.dict);
        let entries = std::mem::take(&mut self.entries);
        let statistics = self.min_max.take().map(|(lo, hi)| match self.kind {
            Kind::Int32 => {
                Statistics::int32(Some(lo as i32), Some(hi as i32), None, Some(0), false)
            }
            Kind::Int64 | Kind::Text | Kind::Fixed16 => {
                Statistics::int64(Some(lo), Some(hi), None, Some(0), false)
            }
        });
        let dict_data = self.compressor.compress(&dict).map_err(zstd_error)?;
        let dictionary = Page::DictionaryPage {
            buf: Bytes::from(dict_data),
            num_values: entries,
            encoding: Encoding::PLAIN,
            is_sorted: false,
        };
        write_chunk(
            descr,
            rows,
            Some((dictionary, dict.len())),
            std::mem::take(&mut self.pages),
            Encoding::RLE_DICTIONARY,
            statistics,
        )
    }
}

/// A column of unsigned 64-bit counters (`bytes`, `packets`): PLAIN pages
/// (INT64 bits), no dictionary, chunk min/max.
pub(super) struct PlainU64 {
    /// Values gathered since the last page.
    pub values: Vec<u64>,
    pages: Vec<DataPage>,
    min_max: Option<(u64, u64)>,
    compressor: zstd::bulk::Compressor<'static>,
    scratch: Vec<u8>,
}

impl PlainU64 {
    pub fn new() -> Result<PlainU64, ParquetError> {
        Ok(PlainU64 {
            values: Vec::new(),
            pages: Vec::new(),
            min_max: None,
            compressor: zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(zstd_error)?,
            scratch: Vec::new(),
        })
    }

    pub fn finish_page(&mut self) -> Result<(), ParquetError> {
        if self.values.is_empty() {
            return Ok(());
        }
        self.scratch.clear();
        self.scratch.reserve(self.values.len() * 8);
        let (mut lo, mut hi) = self.min_max.unwrap_or((u64::MAX, 0));
        for &v in &self.values {
            lo = lo.min(v);
            hi = hi.max(v);
            self.scratch.extend_from_slice(&v.to_le_bytes());
        }
        self.min_max = Some((lo, hi));
        let data = self
            .compressor
            .compress(&self.scratch)
            .map_err(zstd_error)?;
        self.pages.push(DataPage {
            data: Bytes::from(data),
            uncompressed: self.scratch.len(),
            values: self.values.len() as u32,
            rows: self.values.len() as u32,
        });
        self.values.clear();
        Ok(())
    }

    pub fn close(
        &mut self,
        descr: ColumnDescPtr,
        rows: u64,
    ) -> Result<(Bytes, ColumnCloseResult), ParquetError> {
        self.finish_page()?;
        // UINT_64 sorts unsigned; the statistics hold the INT64 bits.
        let statistics = self.min_max.take().map(|(lo, hi)| {
            Statistics::int64(Some(lo as i64), Some(hi as i64), None, Some(0), false)
        });
        write_chunk(
            descr,
            rows,
            None,
            std::mem::take(&mut self.pages),
            Encoding::PLAIN,
            statistics,
        )
    }
}

/// Serializes a column chunk: the dictionary page (with its uncompressed
/// size) if any, then the data pages; builds its metadata and offset index.
fn write_chunk(
    descr: ColumnDescPtr,
    rows: u64,
    dictionary: Option<(Page, usize)>,
    pages: Vec<DataPage>,
    encoding: Encoding,
    statistics: Option<Statistics>,
) -> Result<(Bytes, ColumnCloseResult), ParquetError> {
    let mut sink = TrackedWrite::new(Vec::new());
    let mut writer = SerializedPageWriter::new(&mut sink);
    let mut compressed = 0;
    let mut uncompressed = 0;
    let mut dictionary_offset = None;
    if let Some((page, size)) = dictionary {
        let spec = writer.write_page(CompressedPage::new(page, size))?;
        dictionary_offset = Some(spec.offset as i64);
        compressed += spec.compressed_size;
        uncompressed += spec.uncompressed_size;
    }
    let mut locations = Vec::with_capacity(pages.len());
    let mut values = 0i64;
    let mut page_rows = 0i64;
    for page in pages {
        let spec = writer.write_page(CompressedPage::new(
            Page::DataPage {
                buf: page.data,
                num_values: page.values,
                encoding,
                def_level_encoding: Encoding::RLE,
                rep_level_encoding: Encoding::RLE,
                statistics: None,
            },
            page.uncompressed,
        ))?;
        compressed += spec.compressed_size;
        uncompressed += spec.uncompressed_size;
        locations.push(PageLocation {
            offset: spec.offset as i64,
            compressed_page_size: spec.compressed_size as i32,
            first_row_index: page_rows,
        });
        values += i64::from(page.values);
        page_rows += i64::from(page.rows);
    }
    writer.close()?;
    if page_rows != rows as i64 {
        return Err(ParquetError::General(format!(
            "column {}: {page_rows} rows in the pages for {rows} rows",
            descr.name()
        )));
    }
    let Some(data_offset) = locations.first().map(|l| l.offset) else {
        return Err(ParquetError::General(format!(
            "column {}: a row group without data pages",
            descr.name()
        )));
    };
    let bytes = Bytes::from(sink.into_inner()?);
    let mut encodings = vec![Encoding::PLAIN, Encoding::RLE];
    if encoding != Encoding::PLAIN {
        encodings.push(encoding);
    }
    let mut metadata = ColumnChunkMetaData::builder(descr)
        .set_compression(Compression::ZSTD(parquet::basic::ZstdLevel::try_new(
            ZSTD_LEVEL,
        )?))
        .set_encodings(encodings)
        .set_num_values(values)
        .set_total_compressed_size(compressed as i64)
        .set_total_uncompressed_size(uncompressed as i64)
        .set_dictionary_page_offset(dictionary_offset)
        .set_data_page_offset(data_offset);
    if let Some(s) = statistics {
        metadata = metadata.set_statistics(s);
    }
    let close = ColumnCloseResult {
        bytes_written: bytes.len() as u64,
        rows_written: rows,
        metadata: metadata.build()?,
        bloom_filter: None,
        column_index: None,
        offset_index: Some(OffsetIndexMetaData {
            page_locations: locations,
            unencoded_byte_array_data_bytes: None,
        }),
    };
    Ok((bytes, close))
}

/// The two leaves of the `connectionFlags` map (`MAP<STRING, BOOLEAN>`):
/// `key_value.key`, required under a repeated group (repetition levels 0/1,
/// definition levels 0/1), and `key_value.value`, optional (definition
/// 0/2). A row's entries have repetition 0 for the first, 1 for the rest;
/// an empty map is one level entry with repetition and definition 0. Keys
/// are dictionary-encoded over the run's flag names (in id order); values
/// are PLAIN booleans. Data pages are format v1: repetition levels, then
/// definition levels (each RLE-hybrid with a 4-byte length), then values.
pub(super) struct MapColumn {
    names: Vec<String>,
    rep: Vec<u32>,
    key_def: Vec<u32>,
    value_def: Vec<u32>,
    keys: Vec<u32>,
    values: Vec<bool>,
    rows: u32,
    key_pages: Vec<DataPage>,
    value_pages: Vec<DataPage>,
    compressor: zstd::bulk::Compressor<'static>,
    scratch: Vec<u8>,
}

impl MapColumn {
    pub fn new(names: Vec<String>) -> Result<MapColumn, ParquetError> {
        Ok(MapColumn {
            names,
            rep: Vec::new(),
            key_def: Vec::new(),
            value_def: Vec::new(),
            keys: Vec::new(),
            values: Vec::new(),
            rows: 0,
            key_pages: Vec::new(),
            value_pages: Vec::new(),
            compressor: zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(zstd_error)?,
            scratch: Vec::new(),
        })
    }

    /// Appends one row's map: `(key id, value)` entries, in order.
    #[inline]
    pub fn push_row(&mut self, entries: impl Iterator<Item = (u32, bool)>) {
        let mut repetition = 0;
        for (key, value) in entries {
            debug_assert!((key as usize) < self.names.len());
            self.rep.push(repetition);
            self.key_def.push(1);
            self.value_def.push(2);
            self.keys.push(key);
            self.values.push(value);
            repetition = 1;
        }
        if repetition == 0 {
            self.rep.push(0);
            self.key_def.push(0);
            self.value_def.push(0);
        }
        self.rows += 1;
    }

    fn compress_page(&mut self, levels: u32) -> Result<DataPage, ParquetError> {
        let data = self
            .compressor
            .compress(&self.scratch)
            .map_err(zstd_error)?;
        Ok(DataPage {
            data: Bytes::from(data),
            uncompressed: self.scratch.len(),
            values: levels,
            rows: self.rows,
        })
    }

    /// Encodes the rows gathered so far as one data page per leaf.
    pub fn finish_page(&mut self) -> Result<(), ParquetError> {
        if self.rows == 0 {
            return Ok(());
        }
        let levels = self.rep.len() as u32;
        self.scratch.clear();
        levels_block(&self.rep, 1, &mut self.scratch);
        levels_block(&self.key_def, 1, &mut self.scratch);
        if !self.names.is_empty() {
            let width = bit_width(self.names.len() as u32);
            self.scratch.push(width);
            encode_hybrid(&self.keys, width, &mut self.scratch);
        }
        let page = self.compress_page(levels)?;
        self.key_pages.push(page);

        self.scratch.clear();
        levels_block(&self.rep, 1, &mut self.scratch);
        levels_block(&self.value_def, 2, &mut self.scratch);
        // PLAIN booleans: one bit each, least significant bit first.
        for chunk in self.values.chunks(8) {
            let byte = chunk
                .iter()
                .enumerate()
                .fold(0u8, |b, (i, &v)| b | (u8::from(v) << i));
            self.scratch.push(byte);
        }
        let page = self.compress_page(levels)?;
        self.value_pages.push(page);

        self.rep.clear();
        self.key_def.clear();
        self.value_def.clear();
        self.keys.clear();
        self.values.clear();
        self.rows = 0;
        Ok(())
    }

    /// The row group's two column chunks: key, then value.
    pub fn close(
        &mut self,
        key: ColumnDescPtr,
        value: ColumnDescPtr,
        rows: u64,
    ) -> Result<[(Bytes, ColumnCloseResult); 2], ParquetError> {
        self.finish_page()?;
        let key_pages = std::mem::take(&mut self.key_pages);
        let value_pages = std::mem::take(&mut self.value_pages);
        let keys = if self.names.is_empty() {
            // No flag names: every map is empty, no key is ever written.
            write_chunk(key, rows, None, key_pages, Encoding::PLAIN, None)?
        } else {
            let mut dict = Vec::new();
            for name in &self.names {
                dict.extend_from_slice(&(name.len() as u32).to_le_bytes());
                dict.extend_from_slice(name.as_bytes());
            }
            let data = self.compressor.compress(&dict).map_err(zstd_error)?;
            let page = Page::DictionaryPage {
                buf: Bytes::from(data),
                num_values: self.names.len() as u32,
                encoding: Encoding::PLAIN,
                is_sorted: false,
            };
            write_chunk(
                key,
                rows,
                Some((page, dict.len())),
                key_pages,
                Encoding::RLE_DICTIONARY,
                None,
            )?
        };
        let values = write_chunk(value, rows, None, value_pages, Encoding::PLAIN, None)?;
        Ok([keys, values])
    }
}

/// Levels of a v1 data page: a 4-byte LE length, then the RLE-hybrid runs.
fn levels_block(levels: &[u32], width: u8, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    encode_hybrid(levels, width, out);
    let len = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

/// Bits per key for a dictionary of `entries` values (at least 1: a
/// one-value dictionary is still written with 1-bit keys, which every
/// reader takes).
fn bit_width(entries: u32) -> u8 {
    (32 - entries.saturating_sub(1).leading_zeros()).max(1) as u8
}

fn uleb128(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The RLE / bit-packed hybrid encoding of `keys` (without a length prefix,
/// as a dictionary data page holds it): runs of 8 or more equal keys as RLE
/// runs, everything else bit-packed in groups of 8 (the last group padded
/// with zeros; the page's value count says where the keys end).
pub(super) fn encode_hybrid(keys: &[u32], width: u8, out: &mut Vec<u8>) {
    let n = keys.len();
    let mut packed_from = 0;
    let mut i = 0;
    while i < n {
        let v = keys[i];
        let mut j = i + 1;
        while j < n && keys[j] == v {
            j += 1;
        }
        // A bit-packed run holds a multiple of 8 keys: the first `pad` keys
        // of this run complete its last group.
        let pad = (8 - (i - packed_from) % 8) % 8;
        if j - i >= pad + 8 {
            let run_from = i + pad;
            bit_pack(&keys[packed_from..run_from], width, out);
            uleb128(((j - run_from) as u64) << 1, out);
            let bytes = usize::from(width).div_ceil(8);
            out.extend_from_slice(&v.to_le_bytes()[..bytes]);
            packed_from = j;
        }
        i = j;
    }
    bit_pack(&keys[packed_from..], width, out);
}

fn bit_pack(keys: &[u32], width: u8, out: &mut Vec<u8>) {
    if keys.is_empty() {
        return;
    }
    let groups = keys.len().div_ceil(8);
    uleb128(((groups as u64) << 1) | 1, out);
    out.reserve(groups * usize::from(width));
    if width <= 16 {
        // A group of 8 keys of `w` bits is `w` bytes and fits one u128.
        let w = usize::from(width);
        let mut group = [0u32; 8];
        for chunk in keys.chunks(8) {
            group[..chunk.len()].copy_from_slice(chunk);
            group[chunk.len()..].fill(0);
            let mut acc = 0u128;
            for (j, &k) in group.iter().enumerate() {
                acc |= u128::from(k) << (j * w);
            }
            out.extend_from_slice(&acc.to_le_bytes()[..w]);
        }
        return;
    }
    let width = u32::from(width);
    let mut acc = 0u64;
    let mut bits = 0u32;
    let pad = groups * 8 - keys.len();
    for &k in keys.iter().chain(std::iter::repeat_n(&0, pad)) {
        acc |= u64::from(k) << bits;
        bits += width;
        while bits >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
    debug_assert_eq!(bits, 0, "8 keys fill whole bytes");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A decoder of the hybrid encoding, written from the format's text
    /// (parquet-format Encodings.md), to check the encoder on its own.
    fn decode(mut data: &[u8], width: u8, n: usize) -> Vec<u32> {
        fn uleb(data: &mut &[u8]) -> u64 {
            let mut v = 0u64;
            let mut shift = 0;
            loop {
                let b = data[0];
                *data = &data[1..];
                v |= u64::from(b & 0x7f) << shift;
                if b < 0x80 {
                    return v;
                }
                shift += 7;
            }
        }
        let mut out = Vec::new();
        while out.len() < n {
            let header = uleb(&mut data);
            if header & 1 == 1 {
                let count = (header >> 1) as usize * 8;
                let mut acc = 0u64;
                let mut bits = 0u32;
                for _ in 0..count {
                    while bits < u32::from(width) {
                        acc |= u64::from(data[0]) << bits;
                        data = &data[1..];
                        bits += 8;
                    }
                    out.push((acc & ((1u64 << width) - 1)) as u32);
                    acc >>= width;
                    bits -= u32::from(width);
                }
            } else {
                let count = (header >> 1) as usize;
                let bytes = usize::from(width).div_ceil(8);
                let mut le = [0u8; 4];
                le[..bytes].copy_from_slice(&data[..bytes]);
                data = &data[bytes..];
                out.extend(std::iter::repeat_n(u32::from_le_bytes(le), count));
            }
        }
        assert!(data.is_empty(), "{} bytes left over", data.len());
        out.truncate(n);
        out
    }

    fn round_trip(keys: &[u32]) -> Vec<u8> {
        let width = bit_width(keys.iter().max().map_or(1, |m| m.saturating_add(1)));
        let mut out = Vec::new();
        encode_hybrid(keys, width, &mut out);
        assert_eq!(decode(&out, width, keys.len()), keys, "width {width}");
        out
    }

    #[test]
    fn bit_width_of_a_dictionary() {
        assert_eq!(bit_width(0), 1);
        assert_eq!(bit_width(1), 1);
        assert_eq!(bit_width(2), 1);
        assert_eq!(bit_width(3), 2);
        assert_eq!(bit_width(256), 8);
        assert_eq!(bit_width(257), 9);
        assert_eq!(bit_width(1 << 20), 20);
    }

    #[test]
    fn runs_become_rle_and_the_rest_is_bit_packed() {
        // One value: a single RLE run (header 2×n, one byte of value).
        assert_eq!(round_trip(&[0; 1000]), [0xd0, 0x0f, 0x00]);
        // Pairs (a flow's two rows) never form runs: all bit-packed.
        let pairs: Vec<u32> = (0..100).flat_map(|k| [k, k]).collect();
        let out = round_trip(&pairs);
        assert_eq!(out[0], (25 << 1) | 1);
        // A run starting inside a group: the group is completed first.
        let mut mixed = vec![1, 2, 3];
        mixed.extend([7; 20]);
        mixed.extend([4, 5]);
        round_trip(&mixed);
        // Alternating out/in directions.
        round_trip(&(0..65_536).map(|i| i % 2).collect::<Vec<_>>());
        // Wide keys, runs of every length around 8 and 16.
        let mut keys = Vec::new();
        for len in 1..40u32 {
            keys.extend(std::iter::repeat_n(len * 40_000, len as usize));
        }
        round_trip(&keys);
        round_trip(&[]);
        round_trip(&[5]);
    }

    #[test]
    fn pseudo_random_keys_round_trip() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for width in [1u32, 3, 8, 13, 17, 24, 32] {
            let keys: Vec<u32> = (0..5_000)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // Some runs: repeat the previous key now and then.
                    let k = (x >> 20) as u32;
                    if width == 32 {
                        k
                    } else {
                        k & ((1 << width) - 1)
                    }
                })
                .flat_map(|k| std::iter::repeat_n(k, 1 + (k % 11) as usize))
                .collect();
            round_trip(&keys);
        }
    }
}
