//! Rows as read, the same way for every record: from its columns (then its child tables are
//! loaded) or, for a row written before migration 0002, from its protobuf `record`; with the
//! encrypted phone and ID-number index kept beside it.

use std::future::Future;
use std::pin::Pin;

use pingan_platform::StorageError;
use pingan_platform::storage_rows::{Arg, Cols, Decode, On};

use super::cols::legacy;

/// A row as read: the record, whether it came from columns, and its personal data columns.
pub(super) struct Stored<T> {
    pub record: T,
    pub columns: bool,
    pub phone_enc: Option<Vec<u8>>,
    pub id_index: Option<String>,
}

/// The future of loading a record's child tables.
pub(super) type Loading<'a> = Pin<Box<dyn Future<Output = Result<(), StorageError>> + Send + 'a>>;

impl<T> Stored<T> {
    /// The record with its encrypted phone.
    pub fn pair(self) -> (T, Option<Vec<u8>>) {
        (self.record, self.phone_enc)
    }

    /// The record with its encrypted phone and ID-number index.
    pub fn triple(self) -> (T, Option<Vec<u8>>, Option<String>) {
        (self.record, self.phone_enc, self.id_index)
    }
}

/// A record stored as a row (and child tables).
pub(super) trait Record: prost::Message + Default + Send {
    /// Decodes the record's own columns (lists left empty).
    fn from_columns(row: &dyn Cols) -> Result<Self, StorageError>;
    /// Loads the lists kept in child tables (none by default).
    fn load<'a, 'b: 'a>(&'a mut self, _on: &'a mut On<'b>) -> Loading<'a> {
        Box::pin(async { Ok(()) })
    }
}

/// Decodes a row of `T` whose encrypted phone is in column `phone` ('' none), with the ID-number
/// index when the table has one.
pub(super) fn decode<T: Record>(
    row: &dyn Cols,
    phone: &str,
    indexed: bool,
) -> Result<Stored<T>, StorageError> {
    let (record, columns) = match legacy(row)? {
        Some(record) => (record, false),
        None => (T::from_columns(row)?, true),
    };
    Ok(Stored {
        record,
        columns,
        phone_enc: if phone.is_empty() {
            None
        } else {
            row.bytes(phone)?
        },
        id_index: if indexed {
            row.opt_text("id_number_index")?
        } else {
            None
        },
    })
}

/// The rows of a query, decoded, with their child tables.
pub(super) async fn read<T: Record>(
    on: &mut On<'_>,
    sql: &str,
    args: Vec<Arg>,
    decode: Decode<Stored<T>>,
) -> Result<Vec<Stored<T>>, StorageError> {
    let mut rows = on.rows(sql, args, decode).await?;
    for row in rows.iter_mut().filter(|row| row.columns) {
        row.record.load(on).await?;
    }
    Ok(rows)
}
