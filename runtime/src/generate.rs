//! A seeded generator of order files in the input layout, for benchmarks and tests: the same
//! seed and row count always give the same bytes.

use eventdriven_core::record::RecordSpec;
use std::io::Write;

const REGIONS: [(&str, &[&str]); 4] = [
    ("Sub-Saharan Africa", &["South Africa", "Kenya", "Ghana", "Nigeria"]),
    ("Europe", &["France", "Germany", "Norway", "Portugal"]),
    ("Asia", &["Japan", "India", "Vietnam", "Mongolia"]),
    (
        "Central America and the Caribbean",
        &["Panama", "Cuba", "Honduras", "Haiti"],
    ),
];
/// Item type, unit price and unit cost in cents.
const ITEMS: [(&str, u64, u64); 6] = [
    ("Fruits", 933, 692),
    ("Clothes", 10928, 3584),
    ("Cosmetics", 43715, 26333),
    ("Office Supplies", 65128, 52505),
    ("Beverages", 4733, 3169),
    ("Snacks", 15228, 9744),
];
const CHANNELS: [&str; 2] = ["Online", "Offline"];
const PRIORITIES: [&str; 4] = ["L", "M", "H", "C"];
/// Order ids are `FIRST_ORDER_ID + (n * ID_STRIDE) % ID_SPACE`: distinct for every row below
/// `ID_SPACE` (the stride is coprime with it) and scattered like real ids.
const FIRST_ORDER_ID: u64 = 100_000_000;
const ID_SPACE: u64 = 900_000_000;
const ID_STRIDE: u64 = 387_420_497;

/// The header line of an order file: the order layout's columns, in the sample's order.
pub fn order_header() -> String {
    let headers: Vec<String> = RecordSpec::orders().columns.into_iter().map(|c| c.header).collect();
    headers.join(",")
}

/// Writes a header and `rows` order rows generated from `seed`.
pub fn write_orders(out: &mut impl Write, rows: u64, seed: u64) -> std::io::Result<()> {
    let mut rng = fastrand::Rng::with_seed(seed);
    writeln!(out, "{}", order_header())?;
    for n in 0..rows {
        let (region, countries) = REGIONS[rng.usize(..REGIONS.len())];
        let country = countries[rng.usize(..countries.len())];
        let (item, price, cost) = ITEMS[rng.usize(..ITEMS.len())];
        let (year, month, day) = (rng.u32(2010..=2017), rng.u32(1..=12), rng.u32(1..=28));
        let ship_day = (day + rng.u32(0..=3)).min(28);
        let units = rng.u64(1..=10_000);
        let (revenue, total_cost) = (units * price, units * cost);
        writeln!(
            out,
            "{region},{country},{item},{},{},{month}/{day}/{year},{},{month}/{ship_day}/{year},{units},{},{},{},{},{}",
            CHANNELS[rng.usize(..CHANNELS.len())],
            PRIORITIES[rng.usize(..PRIORITIES.len())],
            FIRST_ORDER_ID + (n * ID_STRIDE) % ID_SPACE,
            Cents(price),
            Cents(cost),
            Cents(revenue),
            Cents(total_cost),
            Cents(revenue - total_cost),
        )?;
    }
    Ok(())
}

struct Cents(u64);

impl std::fmt::Display for Cents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::order_schema;

    fn generated(rows: u64, seed: u64) -> Vec<u8> {
        let mut out = Vec::new();
        write_orders(&mut out, rows, seed).unwrap();
        out
    }

    #[test]
    fn same_seed_same_bytes() {
        assert_eq!(generated(500, 1), generated(500, 1));
        assert_ne!(generated(500, 1), generated(500, 2));
    }

    #[test]
    fn every_generated_row_is_valid_and_ids_are_unique() {
        let data = generated(2000, 9);
        let mut records = crate::records::ChunkRecords::new(&data);
        let schema = order_schema("p");
        let mut rows = schema.reader(records.next_record().unwrap().fields.iter()).unwrap();
        let mut seen = std::collections::HashSet::new();
        while let Some(record) = records.next_record() {
            let (mut items, mut output) = (crate::table::Items::default(), Vec::new());
            rows.read(&record.fields, &mut items, &mut output).unwrap();
            assert!(seen.insert(items.iter().next().unwrap().key().to_vec()));
        }
        assert_eq!(seen.len(), 2000);
    }
}
