//! Storage of complaints, evidence and the audit chain: SQL written once for Postgres and
//! SQLite, run on the pool or inside the caller's transaction.

pub mod audit;
pub mod complaints;
pub mod evidence;

use pingan_platform::storage::{Db, Tx};

/// Where a statement runs: on the pool, or inside an open transaction.
pub enum Conn<'a> {
    /// The pool (a read outside any transaction).
    Db(&'a Db),
    /// An open transaction.
    Tx(&'a mut Tx),
}

/// Runs one sqlx expression on whichever connection `$conn` is: `run!(conn, c => q.fetch_all(c).await)`.
#[macro_export]
macro_rules! run {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::store::Conn::Db(db) => pingan_platform::with_db!(db, $c => $body),
            $crate::store::Conn::Tx(tx) => pingan_platform::with_tx!(tx, $c => $body),
        }
    };
}

/// Joins values into `,a,b,` so `$n LIKE '%,' || column || ',%'` tests membership portably.
pub fn member_list<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    let values: Vec<&str> = values.into_iter().filter(|v| !v.is_empty()).collect();
    if values.is_empty() {
        String::new()
    } else {
        format!(",{},", values.join(","))
    }
}
