//! The link step of routing: a classified incident is linked into the live incident of the
//! same event, or decided to be that event's primary. Decisions are taken one at a time under
//! the link lock, so simultaneous calls about one event never become several primaries.

use pingan_platform::ApiError;
use pingan_platform::storage::Tx;
use pingan_proto::intake::v1::{IncidentStatus, TimelineEntryKind};

use super::Router;
use crate::app::timeline::{Entry, intake_actor};
use crate::domain::{self, IncidentRecord};

impl Router {
    /// The link step: under the link lock, links the incident into a decided primary about the
    /// same event (returns that primary) or decides that it is a primary itself (`None`). The
    /// first incident of an event to take the lock becomes its primary, whatever the order in
    /// which calls were received or classified; a primary is never linked afterwards.
    pub(super) async fn link_duplicate(
        &self,
        incident: &IncidentRecord,
    ) -> Result<Option<String>, ApiError> {
        let window = chrono::Duration::from_std(self.settings.duplicate_window)
            .unwrap_or(chrono::Duration::minutes(15));
        let now = self.context.clock.now();
        let mut tx = self.context.db.begin_write().await?;
        self.store.take_link_lock(&mut tx, now).await?;
        let Some(me) = self
            .store
            .lock_exact(&mut tx, &incident.incident_id)
            .await?
        else {
            tx.rollback().await?;
            return Err(ApiError::NotFound(format!(
                "incident {}",
                incident.incident_id
            )));
        };
        if !me.merged_into.is_empty() {
            tx.rollback().await?;
            return Ok(Some(me.merged_into));
        }
        if me.link_checked || me.status() != IncidentStatus::Classified {
            tx.rollback().await?;
            return Ok(None);
        }
        if me.may_link() {
            let since = me.received_at - window;
            let until = me.received_at + window;
            let candidates = self
                .store
                .link_candidates(&mut tx, &me.incident_id, since, until)
                .await?;
            let radius = self.settings.duplicate_radius_m;
            for (target, distance) in
                domain::rank_duplicates(me.lat, me.lon, &me.category, radius, &candidates)
            {
                let Some(into) = self.store.lock_exact(&mut tx, &target.incident_id).await? else {
                    continue;
                };
                if !into.is_open() || !into.is_decided_primary() {
                    continue;
                }
                self.link_into(&mut tx, &me, into, distance, now).await?;
                self.context.outbox.commit(tx).await?;
                tracing::info!(incident_id = %me.incident_id, duplicate_of = %target.incident_id, "duplicate call linked");
                return Ok(Some(target.incident_id));
            }
        }
        self.store
            .mark_primary(&mut tx, &me.incident_id, now)
            .await?;
        self.context.outbox.commit(tx).await?;
        Ok(None)
    }

    /// Moves `me`'s calls into `into` (locked in `tx`) and tells it on `into`'s timeline.
    async fn link_into(
        &self,
        tx: &mut Tx,
        me: &IncidentRecord,
        mut into: IncidentRecord,
        distance: f64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), ApiError> {
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
        Ok(())
    }
}
