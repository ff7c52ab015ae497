//! The exchange report's read: the slim facts of the transfers recorded in a span (through the
//! `triage_transfers_created` index), written once for both backends. Counting is in
//! `app::exchange_report`, where it is unit tested.

use chrono::{DateTime, Utc};
use pingan_platform::Db;
use pingan_platform::storage::StorageError;
use pingan_platform::storage_rows::{Arg, Cols, On, t};

/// One transfer as the exchange report sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferFact {
    /// `TO_12345` or `FROM_12345`.
    pub direction: String,
    /// Ledger status (`PENDING` … `BOUNCED`).
    pub status: String,
    /// What an inbound ticket became (`INCIDENT`, `COMPLAINT`, `RETURN`, `BOUNCE_BACK`).
    pub route: String,
    /// The 12345 department.
    pub department: String,
    /// The catalogue category.
    pub category: String,
    /// 12345's time limit.
    pub deadline: Option<DateTime<Utc>>,
    /// When the transfer was recorded (the period it counts in).
    pub created_at: DateTime<Utc>,
}

/// What the exchange report reads from triage's ledger.
#[tonic::async_trait]
pub trait ExchangeReportStore: Send + Sync + std::fmt::Debug {
    /// The transfers recorded in [from, to), of `department` and `category` when not empty.
    async fn transfer_facts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        department: &str,
        category: &str,
    ) -> Result<Vec<TransferFact>, StorageError>;
}

/// [`ExchangeReportStore`] over triage's database.
#[derive(Debug, Clone)]
pub struct SqlExchangeReportStore {
    db: Db,
}

impl SqlExchangeReportStore {
    /// Over a migrated database.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

const FACTS: &str = "SELECT direction, status, route, department, category, deadline, created_at \
    FROM triage_transfers \
    WHERE created_at >= $1 AND created_at < $2 \
      AND ($3 = '' OR department = $3) AND ($4 = '' OR category = $4) \
    ORDER BY created_at, transfer_id";

fn fact(row: &dyn Cols) -> Result<TransferFact, StorageError> {
    Ok(TransferFact {
        direction: row.text("direction")?,
        status: row.text("status")?,
        route: row.text("route")?,
        department: row.text("department")?,
        category: row.text("category")?,
        deadline: row.opt_time("deadline")?,
        created_at: row.time("created_at")?,
    })
}

#[tonic::async_trait]
impl ExchangeReportStore for SqlExchangeReportStore {
    async fn transfer_facts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        department: &str,
        category: &str,
    ) -> Result<Vec<TransferFact>, StorageError> {
        let args = vec![
            Arg::Time(Some(from)),
            Arg::Time(Some(to)),
            t(department),
            t(category),
        ];
        On::Pool(&self.db).rows(FACTS, args, fact).await
    }
}
