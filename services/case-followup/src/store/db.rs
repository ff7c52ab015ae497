//! The store's child-table lists, on the platform's row plumbing
//! ([`pingan_platform::storage_rows`]). SQL text is built only from this crate's constants and
//! column names; every value is bound.

use pingan_platform::StorageError;
use pingan_platform::storage::Tx;
use pingan_platform::storage_rows::{Arg, Columns, Decode, On, execute, insert, t};

/// A list kept in a child table: the rows of one owner (its key columns), in `ordinal` order.
pub(super) struct Children {
    pub table: &'static str,
    pub owner: &'static [&'static str],
}

impl Children {
    fn filter(&self) -> String {
        self.owner
            .iter()
            .enumerate()
            .map(|(i, k)| format!("{k} = ${}", i + 1))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// The rows of one owner, in order.
    pub(super) async fn read<T>(
        &self,
        on: &mut On<'_>,
        owner: &[&str],
        decode: Decode<T>,
    ) -> Result<Vec<T>, StorageError> {
        let sql = format!(
            "SELECT * FROM {} WHERE {} ORDER BY ordinal",
            self.table,
            self.filter()
        );
        on.rows(&sql, owner.iter().map(|k| t(k)).collect(), decode)
            .await
    }

    /// Replaces the rows of one owner with `rows` (each without the owner and ordinal columns).
    pub(super) async fn write(
        &self,
        tx: &mut Tx,
        owner: &[&str],
        rows: Vec<Columns>,
    ) -> Result<(), StorageError> {
        let delete = format!("DELETE FROM {} WHERE {}", self.table, self.filter());
        execute(tx, &delete, owner.iter().map(|k| t(k)).collect()).await?;
        for (ordinal, columns) in (0_i64..).zip(rows) {
            let mut row: Columns = self
                .owner
                .iter()
                .zip(owner)
                .map(|(n, v)| (*n, t(v)))
                .collect();
            row.push(("ordinal", Arg::Int(Some(ordinal))));
            row.extend(columns);
            insert(tx, self.table, row, "").await?;
        }
        Ok(())
    }
}
