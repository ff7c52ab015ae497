//! Use cases of the registry: each takes the caller and validated domain input, reads and writes
//! the store in one transaction with its audit record (through the outbox), and returns domain
//! records for the `api` edge to present. Upserts are idempotent by their record ids; creations
//! carry their request id in a unique column.

mod grids;
mod inspections;
mod notebook;
mod outreach;
mod people;
mod reads;
mod service_requests;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use pingan_platform::audit::Audit;
use pingan_platform::auth::{Caller, Jurisdiction};
use pingan_platform::pii::{PiiKind, mask_id_number, mask_phone};
use pingan_platform::storage::Tx;
use pingan_platform::{ApiError, ServiceContext};
use tokio::sync::OnceCell;

use crate::domain::inspection::Templates;
use crate::domain::{ActorRef, Grid, GridIndex, GridShape, LatLon, Millis, SealedValue};
use crate::notify::{LogNotifier, Notifier};
use crate::store::{Scope, SqlStore, Store};

pub use grids::{GridView, Located, OfficerChange, ResolvedAddress};
pub use inspections::{InspectionResult, StartInspection};
pub use notebook::{Subject, WelfareDue};
pub use outreach::BroadcastRequest;
pub use people::Lookup;
pub use reads::{NeedView, PremisesView};
pub use service_requests::ServiceRequestView;

/// The registry's use cases over its store, spatial index, templates and notifier.
#[derive(Debug, Clone)]
pub struct Registry {
    context: ServiceContext,
    store: Arc<dyn Store>,
    index: Arc<OnceCell<RwLock<GridIndex>>>,
    /// The grid version the loaded index reflects (see [`Registry::refresh_index`]).
    index_version: Arc<AtomicI64>,
    upgraded: Arc<OnceCell<()>>,
    templates: Arc<Templates>,
    notifier: Arc<dyn Notifier>,
}

impl Registry {
    /// Use cases over the service's storage; inspection templates are the ones shipped.
    pub fn new(context: ServiceContext) -> Self {
        // The shipped templates are checked by a unit test; a broken build still serves the rest.
        let templates = Templates::builtin().unwrap_or_else(|err| {
            tracing::error!(error = %err, "inspection templates unreadable");
            Templates::empty()
        });
        let store: Arc<dyn Store> = Arc::new(SqlStore::new(context.db.clone()));
        Self {
            context,
            store,
            index: Arc::new(OnceCell::new()),
            index_version: Arc::new(AtomicI64::new(-1)),
            upgraded: Arc::new(OnceCell::new()),
            templates: Arc::new(templates),
            notifier: Arc::new(LogNotifier),
        }
    }

    /// The inspection templates.
    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// Loads the spatial index now rather than on the first call.
    pub async fn warm_up(&self) -> Result<usize, ApiError> {
        self.with_index(|index| index.len()).await
    }

    /// The current time.
    pub fn now(&self) -> Millis {
        self.context.clock.now().timestamp_millis()
    }

    /// The store, once rows of the 0001 JSON schema are converted (see `store::upgrade_legacy`).
    async fn store(&self) -> Result<&dyn Store, ApiError> {
        self.upgraded
            .get_or_try_init(|| async {
                crate::store::upgrade_legacy(&self.context.db)
                    .await
                    .map(|_| ())
            })
            .await?;
        Ok(self.store.as_ref())
    }

    /// Runs `write` in one transaction with the audit record it returns (None: nothing to
    /// audit, e.g. a repeated request), enqueued for complaints-audit, and commits both.
    /// Writes read first (the record, its request id), so the transaction takes the write lock.
    async fn audited<T>(
        &self,
        write: impl AsyncFnOnce(&mut Tx) -> Result<(T, Option<Audit>), ApiError>,
    ) -> Result<T, ApiError> {
        let mut tx = self.context.db.begin_write().await?;
        let (value, audit) = write(&mut tx).await?;
        if let Some(audit) = audit {
            pingan_platform::audit::record(&self.context, &mut tx, crate::SHORT_NAME, &audit)
                .await?;
        }
        self.context.outbox.commit(tx).await?;
        Ok(value)
    }

    /// The audit record of `caller`'s `rpc` on a record.
    fn audit(caller: &Caller, rpc: &str, resource_type: &str, resource_id: &str) -> Audit {
        Audit::new(
            caller.actor(),
            format!("grid.{rpc}"),
            resource_type,
            resource_id,
        )
    }

    /// The caller as recorded on notes and settlements.
    pub fn actor(caller: &Caller) -> ActorRef {
        let actor = caller.actor();
        ActorRef {
            subject: actor.subject,
            role: actor.role,
        }
    }

    /// Masks and encrypts a phone or ID number (empty in, empty out), with its blind index.
    pub fn seal(&self, kind: PiiKind, clear: &str) -> Result<(SealedValue, String), ApiError> {
        let clear = clear.trim();
        if clear.is_empty() {
            return Ok((SealedValue::default(), String::new()));
        }
        let sealed = self
            .context
            .pii
            .encrypt(clear)
            .map_err(ApiError::internal)?;
        let masked = match kind {
            PiiKind::Phone => mask_phone(clear),
            PiiKind::IdNumber => mask_id_number(clear),
        };
        Ok((
            SealedValue {
                masked,
                sealed: hex::encode(sealed),
            },
            self.context.pii.blind_index(kind, clear),
        ))
    }

    /// Runs `f` on the index, loading it from the database on first use.
    async fn with_index<R>(&self, f: impl FnOnce(&GridIndex) -> R) -> Result<R, ApiError> {
        let lock = self
            .index
            .get_or_try_init(|| async {
                let index = self.load_index().await?;
                tracing::info!(grids = index.len(), "grid index loaded");
                Ok::<_, ApiError>(RwLock::new(index))
            })
            .await?;
        let index = lock
            .read()
            .map_err(|_| ApiError::internal("grid index lock poisoned"))?;
        Ok(f(&index))
    }

    /// Every grid from the database, as an index; the grid version is read first and kept, so
    /// a change committed while the grids are read shows as a newer version next time.
    async fn load_index(&self) -> Result<GridIndex, ApiError> {
        let store = self.store().await?;
        let version = store.grid_version().await?;
        let grids = store.all_grids().await?;
        let shapes = grids
            .into_iter()
            .filter_map(|g| GridShape::new(&g.polygon).ok().map(|s| (g.grid_id, s)));
        let index = GridIndex::build(shapes);
        self.index_version.store(version, Ordering::SeqCst);
        Ok(index)
    }

    /// Reloads the spatial index when the grid version moved since it was loaded (a grid or a
    /// station changed through another replica sharing the database); true when reloaded. An
    /// index not loaded yet stays so: it loads current data on first use.
    pub async fn refresh_index(&self) -> Result<bool, ApiError> {
        let Some(lock) = self.index.get() else {
            return Ok(false);
        };
        let version = self.store().await?.grid_version().await?;
        if version == self.index_version.load(Ordering::SeqCst) {
            return Ok(false);
        }
        let index = self.load_index().await?;
        let grids = index.len();
        *lock
            .write()
            .map_err(|_| ApiError::internal("grid index lock poisoned"))? = index;
        tracing::info!(grids, version, "grid index reloaded: the grids changed");
        Ok(true)
    }

    async fn update_index(&self, grid_id: &str, shape: GridShape) -> Result<(), ApiError> {
        self.with_index(|_| ()).await?;
        if let Some(lock) = self.index.get() {
            let mut index = lock
                .write()
                .map_err(|_| ApiError::internal("grid index lock poisoned"))?;
            index.upsert(grid_id, shape);
        }
        Ok(())
    }

    /// The grid, if the caller may see its station; NOT_FOUND otherwise.
    async fn grid_for(&self, caller: &Caller, grid_id: &str) -> Result<Grid, ApiError> {
        let grid = self
            .store()
            .await?
            .grid(grid_id)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("grid {grid_id}")))?;
        caller.require_station(&grid.station_id)?;
        Ok(grid)
    }

    /// The grid named (an unknown one is INVALID_ARGUMENT on `field`) in the caller's reach.
    async fn known_grid(
        &self,
        caller: &Caller,
        grid_id: &str,
        field: &str,
    ) -> Result<Grid, ApiError> {
        self.grid_for(caller, grid_id).await.map_err(|e| match e {
            ApiError::NotFound(_) => ApiError::invalid(field, "unknown grid"),
            other => other,
        })
    }

    /// The grid named, or the one containing `location`; `field` names the grid id field.
    async fn resolve_grid(
        &self,
        caller: &Caller,
        grid_id: &str,
        location: Option<LatLon>,
        field: &str,
    ) -> Result<Grid, ApiError> {
        if !grid_id.trim().is_empty() {
            return self.known_grid(caller, grid_id, field).await;
        }
        let located = match location {
            Some(point) => {
                self.with_index(|i| i.locate(point).map(str::to_owned))
                    .await?
            }
            None => None,
        };
        match located {
            Some(id) => self.grid_for(caller, &id).await,
            None => Err(ApiError::invalid(
                field,
                "required (or a location inside a known grid)",
            )),
        }
    }
}

/// Scope of a listing: the caller's jurisdiction plus the request's filters.
pub fn scope(caller: &Caller, station_id: &str, grid_id: &str, officer_id: &str) -> Scope {
    Scope {
        stations: match &caller.jurisdiction {
            Jurisdiction::Bureau => None,
            Jurisdiction::Stations(set) => Some(set.iter().cloned().collect()),
        },
        station_id: station_id.to_owned(),
        grid_id: grid_id.to_owned(),
        officer_id: officer_id.to_owned(),
    }
}
