//! The link step of routing: a classified incident is linked into the live incident of the
//! same event, or decided to be that event's primary. Decisions about nearby calls are taken
//! one at a time under the link cells of their area (taken first in the routing's first
//! transaction), so simultaneous calls about one event never become several primaries.

use chrono::{DateTime, Utc};
use pingan_platform::ApiError;
use pingan_platform::storage::Tx;
use pingan_proto::intake::v1::TimelineEntryKind;

use super::Router;
use crate::app::timeline::{Entry, intake_actor};
use crate::domain::{self, IncidentRecord};

impl Router {
    /// Takes the link cells of `me`'s location that the transaction did not take at its start
    /// (its location changed after the peers were asked, which is rare): taken out of order, so
    /// two such decisions may deadlock, and Postgres then fails one, whose job retries.
    pub(super) async fn cover_link_cells(
        &self,
        tx: &mut Tx,
        me: &IncidentRecord,
        taken: &[String],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), ApiError> {
        if !me.may_link() {
            return Ok(());
        }
        let radius = self.settings.duplicate_radius_m;
        let missing: Vec<String> = domain::link_cells(me.lat, me.lon, radius)
            .into_iter()
            .filter(|cell| !taken.contains(cell))
            .collect();
        if !missing.is_empty() {
            let cells = missing.len();
            tracing::info!(incident_id = %me.incident_id, cells, "location moved: more link cells taken");
            self.store.take_link_cells(tx, &missing, now).await?;
        }
        Ok(())
    }

    /// The link step's search, in `tx` holding the link cells: the decided primary about the
    /// same event that `me` (classified, not yet checked) is linked into, locked, with its
    /// distance; `None` when `me` is a primary itself. The first incident of an event to take
    /// the lock becomes its primary, whatever the order in which calls were received or
    /// classified; a primary is never linked afterwards.
    pub(super) async fn link_target(
        &self,
        tx: &mut Tx,
        me: &IncidentRecord,
    ) -> Result<Option<(IncidentRecord, f64)>, ApiError> {
        if !me.may_link() {
            return Ok(None);
        }
        let window = chrono::Duration::from_std(self.settings.duplicate_window)
            .unwrap_or(chrono::Duration::minutes(15));
        // Checked: an absurd configured window searches everything, it does not panic.
        let since = (me.received_at.checked_sub_signed(window)).unwrap_or(DateTime::UNIX_EPOCH);
        let until = (me.received_at.checked_add_signed(window)).unwrap_or(DateTime::<Utc>::MAX_UTC);
        let radius = self.settings.duplicate_radius_m;
        let cells = domain::search_cells(me.lat, me.lon, radius);
        let candidates = self
            .store
            .link_candidates(tx, &me.incident_id, cells.as_deref(), since, until)
            .await?;
        for (target, distance) in
            domain::rank_duplicates(me.lat, me.lon, &me.category, radius, &candidates)
        {
            let Some(into) = self.store.lock_exact(tx, &target.incident_id).await? else {
                continue;
            };
            if into.is_open() && into.is_decided_primary() {
                return Ok(Some((into, distance)));
            }
        }
        Ok(None)
    }

    /// Moves `me`'s calls into `into` (locked in `tx`) and tells it on `into`'s timeline;
    /// returns `into` as saved.
    pub(super) async fn link_into(
        &self,
        tx: &mut Tx,
        me: &IncidentRecord,
        mut into: IncidentRecord,
        distance: f64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<IncidentRecord, ApiError> {
        let calls = self.store.calls_in(tx, &me.incident_id).await?;
        self.store
            .link(tx, &me.incident_id, &into.incident_id, distance, now)
            .await?;
        let call_ids: Vec<&str> = calls.iter().map(|c| c.call_id.as_str()).collect();
        let summary = format!(
            "call {} linked as a duplicate ({} {:.0} m away, {}; was incident {})",
            call_ids.join(", "),
            me.category,
            distance,
            calls
                .first()
                .map(|c| c.caller_phone_masked.as_str())
                .unwrap_or_default(),
            me.incident_id,
        );
        Entry::new(
            &into.incident_id,
            TimelineEntryKind::DuplicateCallLinked,
            now,
            &intake_actor(),
            crate::SHORT_NAME,
            summary,
        )
        .related(call_ids.first().copied().unwrap_or_default())
        .write(self.store.as_ref(), tx)
        .await?;
        into.updated_at = now;
        self.store.save_incident(tx, &into).await?;
        Ok(into)
    }
}
