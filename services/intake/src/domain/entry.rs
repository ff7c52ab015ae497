//! One entry of an incident's timeline as stored.

use chrono::{DateTime, Utc};

/// One timeline entry as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct EntryRecord {
    pub entry_id: String,
    pub incident_id: String,
    pub at: DateTime<Utc>,
    pub kind: i32,
    pub actor_subject: String,
    pub actor_role: String,
    pub actor_name: String,
    pub source: String,
    pub summary: String,
    pub from_status: i32,
    pub to_status: i32,
    pub unit_id: String,
    pub related_id: String,
    pub event_id: String,
}
