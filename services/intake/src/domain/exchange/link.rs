//! The link an imported incident keeps to the bureau and incident it came from.

use chrono::{DateTime, Utc};

/// An imported incident's link back to its source, as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct LinkRecord {
    /// The local incident created by the import.
    pub incident_id: String,
    pub source_bureau_id: String,
    pub source_incident_id: String,
    pub document_id: String,
    pub schema_version: String,
    /// The status at the source when exported (the document's spelling, e.g. DISPATCHED).
    pub source_status: String,
    pub exported_at: DateTime<Utc>,
    pub imported_at: DateTime<Utc>,
    /// The ImportIncident request that created it.
    pub request_id: String,
    /// The document as received.
    pub document: String,
}
