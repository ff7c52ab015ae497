//! What the handlers and the job worker share: the service context, settings, the job queue,
//! the live position store (Redis when configured, else in process), and the board.
//!
//! One runtime exists per mounted service instance: `Service::build` makes it and hands the same
//! `Arc` to the handlers and to the workers it returns, so they see the same in-process positions
//! and board. Two instances — in one process or in two — share state only through the database
//! and Redis (with Redis, the board too: see `board_relay`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Timelike, Utc};
use pingan_platform::ServiceContext;
use pingan_platform::jobs::JobQueue;
use pingan_platform::time::to_timestamp;
use pingan_proto::dispatch::v1::{Dispatch, TimelineEntry, Unit};

use crate::app::board::Board;
use crate::app::board_relay::{self, BoardRelay};
use crate::domain::model;
use crate::positions::{
    Keys, LivePosition, MemoryPositions, PositionStore, RedisPositions, UnitMeta,
};
use crate::settings::DispatchSettings;
use crate::store::{SqlStore, Store};

/// Position-only board updates are sent at most this often per unit.
const POSITION_BOARD_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// The dispatch service's shared state.
#[derive(Debug)]
pub struct Runtime {
    /// Database, Redis, peers, clock, outbox, request log.
    pub context: ServiceContext,
    /// Tunables.
    pub settings: DispatchSettings,
    /// The database, in domain terms.
    pub store: Arc<dyn Store>,
    /// Live positions and unit state.
    pub positions: Arc<dyn PositionStore>,
    /// The command board.
    pub board: Board,
    /// Durable jobs: the response clocks, enqueued in the transaction that arms them.
    pub jobs: JobQueue,
    /// The relay sharing the board with the other replicas, until the workers take it.
    board_relay: Mutex<Option<BoardRelay>>,
    /// False until the live store holds every unit, and again after an update of it failed:
    /// the next fix re-reads every unit (the position gate trusts the live store's stations).
    live_current: AtomicBool,
    /// One re-read at a time.
    warming: tokio::sync::Mutex<()>,
    position_published: Mutex<HashMap<String, Instant>>,
}

/// What a committed change must still do outside the database: update the live store and the board.
#[derive(Debug, Default)]
pub struct Effects {
    /// The dispatch after the change.
    pub dispatch: Option<Dispatch>,
    /// Timeline entries written.
    pub entries: Vec<TimelineEntry>,
    /// Units whose status changed.
    pub units: Vec<String>,
    /// Units (re-)registered.
    pub registered: Vec<UnitMeta>,
}

impl Runtime {
    /// The runtime of one service instance (starts nothing: the workers are built from it).
    pub fn new(context: ServiceContext, settings: DispatchSettings) -> Self {
        let positions: Arc<dyn PositionStore> = match &context.redis {
            Some(redis) => Arc::new(RedisPositions::new(redis.clone())),
            None => Arc::new(MemoryPositions::new()),
        };
        let (board, board_relay) = match &context.redis {
            Some(redis) => {
                let keys = Keys::new(redis.prefix());
                let (board, relay) =
                    board_relay::fanned_out(settings.board_buffer, redis.clone(), keys);
                (board, Some(relay))
            }
            None => (Board::new(settings.board_buffer), None),
        };
        let jobs = JobQueue::new(crate::SHORT_NAME, context.db.clone(), context.clock.clone());
        Self {
            store: Arc::new(SqlStore::new(context.db.clone())),
            jobs,
            context,
            settings,
            positions,
            board,
            board_relay: Mutex::new(board_relay),
            live_current: AtomicBool::new(false),
            warming: tokio::sync::Mutex::new(()),
            position_published: Mutex::new(HashMap::new()),
        }
    }

    /// The relay worker sharing the board with the other replicas (Redis only; once).
    pub fn take_board_relay(&self) -> Option<BoardRelay> {
        self.board_relay
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// Now, from the injected clock.
    pub fn now(&self) -> DateTime<Utc> {
        // Whole microseconds: what both backends store, so a record reads back as written.
        let now = self.context.clock.now();
        now.with_nanosecond(now.nanosecond() / 1000 * 1000)
            .unwrap_or(now)
    }

    /// The oldest position time that still counts.
    pub fn fresh_after(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - chrono::Duration::from_std(self.settings.staleness).unwrap_or_default()
    }

    /// The live store missed a change or lost its units: the next fix re-reads every unit.
    pub fn live_store_lost(&self) {
        self.live_current.store(false, Ordering::Release);
    }

    /// Makes sure the live store knows every registered unit as the database has it: once per
    /// runtime, and again after an update of the live store failed.
    pub async fn warm(&self) -> Result<(), pingan_platform::ApiError> {
        if self.live_current.load(Ordering::Acquire) {
            return Ok(());
        }
        let _one_at_a_time = self.warming.lock().await;
        if self.live_current.load(Ordering::Acquire) {
            return Ok(());
        }
        let metas: Vec<UnitMeta> = self
            .store
            .all_units()
            .await?
            .into_iter()
            .map(|unit| UnitMeta {
                unit_id: unit.unit_id,
                kind: unit.kind as i32,
                station_id: unit.station_id,
                capabilities: unit.capabilities,
                status: unit.status as i32,
                callsign: unit.callsign,
            })
            .collect();
        self.positions.upsert_units(&metas).await?;
        self.live_current.store(true, Ordering::Release);
        Ok(())
    }

    /// A unit as clients see it, with its live position.
    pub fn unit_proto(&self, row: model::Unit, position: Option<LivePosition>) -> Unit {
        let now = self.now();
        let fresh_after = self.fresh_after(now);
        Unit {
            unit_id: row.unit_id,
            kind: row.kind as i32,
            callsign: row.callsign,
            station_id: row.station_id,
            grid_ids: row.grid_ids,
            capabilities: row.capabilities,
            officer_ids: row.officer_ids,
            status: row.status as i32,
            status_reason: row.status_reason,
            status_changed_at: Some(to_timestamp(row.status_changed_at)),
            location: position.map(|p| pingan_proto::common::v1::GeoPoint {
                lat: p.lat,
                lon: p.lon,
            }),
            last_seen: position.map(|p| to_timestamp(p.at)),
            position_stale: position.is_some_and(|p| p.at < fresh_after),
            current_dispatch_id: row.current_dispatch_id.unwrap_or_default(),
            created_at: Some(to_timestamp(row.created_at)),
            updated_at: Some(to_timestamp(row.updated_at)),
        }
    }

    /// Units by id with their live positions (missing ids are left out).
    pub async fn units(&self, ids: &[String]) -> Result<Vec<Unit>, pingan_platform::ApiError> {
        let positions = self.positions.positions(ids).await.unwrap_or_else(|err| {
            tracing::warn!(error = %err, "positions unavailable for unit view");
            HashMap::new()
        });
        // One read for all of them, answered in the order asked.
        let rows: HashMap<String, _> = self
            .store
            .units(ids)
            .await?
            .into_iter()
            .map(|row| (row.unit_id.clone(), row))
            .collect();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(row) = rows.get(id).cloned() {
                let position = positions.get(id).copied();
                out.push(self.unit_proto(row, position));
            }
        }
        Ok(out)
    }

    /// Applies a committed change to the live store and the board. Failures are logged: the
    /// database is the record, the live store follows at the next change or restart.
    pub async fn after_commit(&self, effects: Effects) {
        let now = self.now();
        if !effects.registered.is_empty()
            && let Err(err) = self.positions.upsert_units(&effects.registered).await
        {
            self.live_store_lost();
            tracing::warn!(error = %err, "live store not updated after registration; the next fix re-reads every unit");
        }
        let mut units = effects.units;
        units.sort();
        units.dedup();
        for unit_id in &units {
            match self.store.unit(unit_id).await {
                Ok(Some(row)) => {
                    if let Err(err) = self.positions.set_status(unit_id, row.status as i32).await {
                        self.live_store_lost();
                        tracing::warn!(unit_id = %unit_id, error = %err, "live status not updated");
                    }
                }
                Ok(None) => {}
                Err(err) => tracing::warn!(unit_id = %unit_id, error = %err, "unit not reloaded"),
            }
        }
        if !self.board.watched() {
            return;
        }
        if let Some(dispatch) = &effects.dispatch {
            for entry in &effects.entries {
                self.board.entry(&dispatch.station_id, entry, now);
            }
            self.board.dispatch(dispatch, now);
        }
        let ids: Vec<String> = units
            .into_iter()
            .chain(effects.registered.into_iter().map(|m| m.unit_id))
            .collect();
        match self.units(&ids).await {
            Ok(units) => {
                for unit in &units {
                    self.board.unit(unit, now, false);
                }
            }
            Err(err) => tracing::warn!(error = %err, "board unit update skipped"),
        }
    }

    /// Publishes position-only board updates, at most one per unit per interval.
    pub async fn publish_positions(&self, unit_ids: &[String]) {
        if !self.board.positions_watched() {
            return;
        }
        let due: Vec<String> = {
            let mut published = self
                .position_published
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let mut due: Vec<String> = Vec::new();
            for id in unit_ids {
                let last = published.get(id).copied();
                if last.is_none_or(|t| now.duration_since(t) >= POSITION_BOARD_INTERVAL)
                    && !due.contains(id)
                {
                    published.insert(id.clone(), now);
                    due.push(id.clone());
                }
            }
            due
        };
        if due.is_empty() {
            return;
        }
        if let Ok(units) = self.units(&due).await {
            let now = self.now();
            for unit in &units {
                self.board.unit(unit, now, true);
            }
        }
    }
}
