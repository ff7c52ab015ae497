//! The SQL store: portable SQL written once with `$N` placeholders, run on either backend.
//! Records are JSON bodies beside the columns queries filter on (see the migration).

use pingan_platform::storage::Tx;
use pingan_platform::{Db, StorageError, with_db, with_tx};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::queries::*;
use super::{Inserted, NeedFilter, OutreachFilter, Page, ReinspectionFilter, Scope, Store};
use crate::domain::*;

/// The registry's tables on Postgres or SQLite.
#[derive(Debug, Clone)]
pub struct SqlStore {
    db: Db,
}

impl SqlStore {
    /// A store over a migrated database.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

/// A bound parameter.
#[derive(Debug, Clone)]
enum Arg {
    Text(String),
    Int(i64),
}

fn t(value: &str) -> Arg {
    Arg::Text(value.to_owned())
}

/// "No bound" for optional time filters (keeps every parameter typed on Postgres).
const NO_BOUND: i64 = i64::MAX;

fn json<T: Serialize>(value: &T) -> Result<String, StorageError> {
    serde_json::to_string(value).map_err(|e| StorageError::Other(Box::new(e)))
}

fn parse<T: DeserializeOwned>(body: &str) -> Result<T, StorageError> {
    serde_json::from_str(body).map_err(|e| StorageError::Other(Box::new(e)))
}

fn parse_all<T: DeserializeOwned>(bodies: Vec<String>) -> Result<Vec<T>, StorageError> {
    bodies.iter().map(|b| parse(b)).collect()
}

/// The caller's stations as ",a,b," ("" for the whole bureau, "," for none).
fn stations_arg(scope: &Scope) -> Arg {
    match &scope.stations {
        None => t(""),
        Some(list) => Arg::Text(format!(",{},", list.join(","))),
    }
}

fn scope_args(scope: &Scope) -> Vec<Arg> {
    vec![
        stations_arg(scope),
        t(&scope.station_id),
        t(&scope.grid_id),
        t(&scope.officer_id),
    ]
}

macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                Arg::Text(value) => query.bind(value),
                Arg::Int(value) => query.bind(value),
            };
        }
        query
    }};
}

impl SqlStore {
    async fn bodies(&self, sql: &'static str, args: Vec<Arg>) -> Result<Vec<String>, StorageError> {
        Ok(
            with_db!(&self.db, pool => bind_all!(sqlx::query_scalar::<_, String>(sql), args)
            .fetch_all(pool).await)?,
        )
    }

    async fn one<T: DeserializeOwned>(
        &self,
        sql: &'static str,
        args: Vec<Arg>,
    ) -> Result<Option<T>, StorageError> {
        self.bodies(sql, args)
            .await?
            .first()
            .map(|b| parse(b))
            .transpose()
    }

    async fn int(&self, sql: &'static str, args: Vec<Arg>) -> Result<i64, StorageError> {
        Ok(
            with_db!(&self.db, pool => bind_all!(sqlx::query_scalar::<_, i64>(sql), args)
            .fetch_one(pool).await)?,
        )
    }

    /// Runs a write in `tx`; the rows it touched.
    async fn execute_in(
        tx: &mut Tx,
        sql: &'static str,
        args: Vec<Arg>,
    ) -> Result<u64, StorageError> {
        Ok(with_tx!(tx, conn => bind_all!(sqlx::query(sql), args)
            .execute(&mut *conn).await.map(|r| r.rows_affected()))?)
    }

    /// Insert, or update when the key exists, in `tx`; true when inserted.
    async fn put(
        tx: &mut Tx,
        insert: &'static str,
        update: &'static str,
        args: Vec<Arg>,
    ) -> Result<bool, StorageError> {
        if Self::execute_in(tx, insert, args.clone()).await? == 1 {
            return Ok(true);
        }
        Self::execute_in(tx, update, args).await?;
        Ok(false)
    }

    /// Insert unless the request id was seen (in `tx`); then the record stored first.
    async fn insert_once<T: DeserializeOwned + Clone>(
        tx: &mut Tx,
        insert: &'static str,
        by_request: &'static str,
        request_id: &str,
        record: &T,
        args: Vec<Arg>,
    ) -> Result<Inserted<T>, StorageError> {
        if Self::execute_in(tx, insert, args).await? == 1 {
            return Ok(Inserted::New(record.clone()));
        }
        let bodies: Vec<String> = with_tx!(tx, conn =>
            bind_all!(sqlx::query_scalar::<_, String>(by_request), [t(request_id)])
                .fetch_all(&mut *conn).await)?;
        match bodies.first().map(|b| parse::<T>(b)).transpose()? {
            Some(existing) if !request_id.is_empty() => Ok(Inserted::Existing(existing)),
            _ => Err(StorageError::Conflict("record id".into())),
        }
    }

    async fn residents_with_visits(
        &self,
        sql: &'static str,
        args: Vec<Arg>,
    ) -> Result<Vec<Resident>, StorageError> {
        let rows: Vec<(String, Option<i64>)> = with_db!(&self.db, pool =>
            bind_all!(sqlx::query_as::<_, (String, Option<i64>)>(sql), args).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|(body, last)| {
                let mut resident: Resident = parse(&body)?;
                resident.last_visit_at = last;
                Ok(resident)
            })
            .collect()
    }
}

fn list_arg(values: &[String]) -> Arg {
    if values.is_empty() {
        t("")
    } else {
        Arg::Text(format!(",{},", values.join(",")))
    }
}

#[tonic::async_trait]
impl Store for SqlStore {
    async fn put_station(&self, tx: &mut Tx, s: &Station) -> Result<bool, StorageError> {
        let args = vec![
            t(&s.station_id),
            Arg::Text(json(s)?),
            Arg::Int(s.updated_at),
        ];
        Self::put(tx, INSERT_STATION, UPDATE_STATION, args).await
    }

    async fn station(&self, station_id: &str) -> Result<Option<Station>, StorageError> {
        self.one(GET_STATION, vec![t(station_id)]).await
    }

    async fn stations(&self) -> Result<Vec<Station>, StorageError> {
        parse_all(self.bodies(ALL_STATIONS, vec![]).await?)
    }

    async fn put_grid(&self, tx: &mut Tx, g: &Grid) -> Result<bool, StorageError> {
        let args = vec![
            t(&g.grid_id),
            t(&g.station_id),
            Arg::Int(i64::from(g.kind)),
            Arg::Text(json(g)?),
            Arg::Int(g.updated_at),
        ];
        Self::put(tx, INSERT_GRID, UPDATE_GRID, args).await
    }

    async fn grid(&self, grid_id: &str) -> Result<Option<Grid>, StorageError> {
        self.one(GET_GRID, vec![t(grid_id)]).await
    }

    async fn all_grids(&self) -> Result<Vec<Grid>, StorageError> {
        parse_all(self.bodies(ALL_GRIDS, vec![]).await?)
    }

    async fn list_grids(
        &self,
        scope: &Scope,
        kind: i32,
        page: Page,
    ) -> Result<Vec<Grid>, StorageError> {
        let mut args = scope_args(scope);
        args.extend([
            Arg::Int(i64::from(kind)),
            Arg::Int(page.limit),
            Arg::Int(page.offset),
        ]);
        parse_all(self.bodies(LIST_GRIDS, args).await?)
    }

    async fn put_officer(&self, tx: &mut Tx, o: &GridOfficer) -> Result<(), StorageError> {
        let args = vec![
            t(&o.grid_id),
            t(&o.officer_id),
            Arg::Int(i64::from(o.role)),
            Arg::Text(json(o)?),
        ];
        Self::put(tx, INSERT_OFFICER, UPDATE_OFFICER, args)
            .await
            .map(|_| ())
    }

    async fn remove_officer(
        &self,
        tx: &mut Tx,
        grid_id: &str,
        officer_id: &str,
        role: i32,
    ) -> Result<bool, StorageError> {
        let args = vec![t(grid_id), t(officer_id), Arg::Int(i64::from(role))];
        Ok(Self::execute_in(tx, DELETE_OFFICER, args).await? > 0)
    }

    async fn officers(&self, grid_id: &str) -> Result<Vec<GridOfficer>, StorageError> {
        parse_all(self.bodies(GRID_OFFICERS, vec![t(grid_id)]).await?)
    }

    async fn put_address(&self, tx: &mut Tx, a: &Address) -> Result<bool, StorageError> {
        let args = vec![
            t(&a.address_id),
            t(&a.grid_id),
            t(&a.station_id),
            Arg::Text(json(a)?),
        ];
        Self::put(tx, INSERT_ADDRESS, UPDATE_ADDRESS, args).await
    }

    async fn address(&self, address_id: &str) -> Result<Option<Address>, StorageError> {
        self.one(GET_ADDRESS, vec![t(address_id)]).await
    }

    async fn addresses(&self, scope: &Scope) -> Result<Vec<Address>, StorageError> {
        let args = vec![stations_arg(scope), t(&scope.station_id), t(&scope.grid_id)];
        parse_all(self.bodies(ADDRESSES_IN_SCOPE, args).await?)
    }

    async fn put_resident(&self, tx: &mut Tx, r: &Resident) -> Result<bool, StorageError> {
        let mut stored = r.clone();
        stored.last_visit_at = None; // derived from visits on read
        let args = vec![
            t(&r.resident_id),
            t(&r.grid_id),
            t(&r.station_id),
            t(&r.id_number_hash),
            Arg::Text(json(&stored)?),
        ];
        Self::put(tx, INSERT_RESIDENT, UPDATE_RESIDENT, args).await
    }

    async fn resident(&self, resident_id: &str) -> Result<Option<Resident>, StorageError> {
        Ok(self
            .residents_with_visits(GET_RESIDENT, vec![t(resident_id)])
            .await?
            .into_iter()
            .next())
    }

    async fn resident_by_id_hash(&self, hash: &str) -> Result<Option<Resident>, StorageError> {
        Ok(self
            .residents_with_visits(RESIDENT_BY_HASH, vec![t(hash)])
            .await?
            .into_iter()
            .next())
    }

    async fn residents(&self, scope: &Scope) -> Result<Vec<Resident>, StorageError> {
        self.residents_with_visits(RESIDENTS_IN_SCOPE, scope_args(scope))
            .await
    }

    async fn put_house(&self, tx: &mut Tx, h: &House) -> Result<bool, StorageError> {
        let args = vec![
            t(&h.house_id),
            t(&h.grid_id),
            t(&h.station_id),
            Arg::Text(json(h)?),
        ];
        Self::put(tx, INSERT_HOUSE, UPDATE_HOUSE, args).await
    }

    async fn house(&self, house_id: &str) -> Result<Option<House>, StorageError> {
        self.one(GET_HOUSE, vec![t(house_id)]).await
    }

    async fn put_premises(&self, tx: &mut Tx, p: &Premises) -> Result<bool, StorageError> {
        let args = vec![
            t(&p.premises_id),
            t(&p.grid_id),
            t(&p.station_id),
            Arg::Int(i64::from(p.kind)),
            Arg::Text(json(p)?),
        ];
        Self::put(tx, INSERT_PREMISES, UPDATE_PREMISES, args).await
    }

    async fn premises(&self, premises_id: &str) -> Result<Option<Premises>, StorageError> {
        self.one(GET_PREMISES, vec![t(premises_id)]).await
    }

    async fn premises_in_grid(&self, grid_id: &str) -> Result<Vec<Premises>, StorageError> {
        parse_all(self.bodies(PREMISES_IN_GRID, vec![t(grid_id)]).await?)
    }

    async fn record_lookup(&self, tx: &mut Tx, l: &IdLookup) -> Result<(), StorageError> {
        let args = vec![
            t(&l.lookup_id),
            t(&l.resident_id),
            Arg::Int(l.at),
            Arg::Text(json(l)?),
        ];
        with_tx!(tx, conn => bind_all!(sqlx::query(INSERT_LOOKUP), args)
            .execute(&mut *conn).await.map(|_| ()))?;
        Ok(())
    }

    async fn insert_visit(&self, tx: &mut Tx, v: &Visit) -> Result<Inserted<Visit>, StorageError> {
        let args = vec![
            t(&v.visit_id),
            t(&v.request_id),
            t(&v.resident_id),
            t(&v.premises_id),
            t(&v.grid_id),
            Arg::Int(v.visited_at),
            Arg::Int(i64::from(v.contacted)),
            Arg::Text(json(v)?),
        ];
        Self::insert_once(tx, INSERT_VISIT, VISIT_BY_REQUEST, &v.request_id, v, args).await
    }

    async fn insert_need(&self, tx: &mut Tx, n: &Need) -> Result<Inserted<Need>, StorageError> {
        let args = vec![
            t(&n.need_id),
            t(&n.request_id),
            t(&n.grid_id),
            t(&n.station_id),
            t(&n.resident_id),
            t(&n.premises_id),
            t(&n.assigned_officer_id),
            Arg::Int(i64::from(n.category)),
            Arg::Int(i64::from(n.status)),
            Arg::Int(i64::from(n.urgent)),
            Arg::Int(n.due_at),
            Arg::Text(json(n)?),
        ];
        Self::insert_once(tx, INSERT_NEED, NEED_BY_REQUEST, &n.request_id, n, args).await
    }

    async fn need(&self, need_id: &str) -> Result<Option<Need>, StorageError> {
        self.one(GET_NEED, vec![t(need_id)]).await
    }

    async fn settle_need(&self, tx: &mut Tx, n: &Need) -> Result<bool, StorageError> {
        let open = pingan_proto::grid::v1::NeedStatus::Open as i64;
        let args = vec![
            t(&n.need_id),
            Arg::Int(i64::from(n.status)),
            Arg::Text(json(n)?),
            Arg::Int(open),
        ];
        Ok(Self::execute_in(tx, SETTLE_NEED, args).await? == 1)
    }

    async fn open_needs(&self, f: &NeedFilter, page: Page) -> Result<Vec<Need>, StorageError> {
        let categories: Vec<String> = f.categories.iter().map(|c| c.to_string()).collect();
        let mut args = scope_args(&f.scope);
        args.extend([
            t(&f.resident_id),
            t(&f.premises_id),
            list_arg(&categories),
            Arg::Int(f.due_before.unwrap_or(NO_BOUND)),
            Arg::Int(page.limit),
            Arg::Int(page.offset),
        ]);
        parse_all(self.bodies(OPEN_NEEDS, args).await?)
    }

    async fn open_need_count(&self, resident_id: &str) -> Result<i64, StorageError> {
        self.int(OPEN_NEED_COUNT, vec![t(resident_id)]).await
    }

    async fn insert_inspection(
        &self,
        tx: &mut Tx,
        i: &Inspection,
    ) -> Result<Inserted<Inspection>, StorageError> {
        let args = vec![
            t(&i.inspection_id),
            t(&i.request_id),
            t(&i.premises_id),
            t(&i.grid_id),
            t(&i.station_id),
            Arg::Int(i64::from(i.premises_kind)),
            Arg::Int(i64::from(i.status)),
            Arg::Int(i.rectification_deadline.unwrap_or(NO_BOUND)),
            Arg::Text(json(i)?),
        ];
        Self::insert_once(
            tx,
            INSERT_INSPECTION,
            INSPECTION_BY_REQUEST,
            &i.request_id,
            i,
            args,
        )
        .await
    }

    async fn inspection(&self, inspection_id: &str) -> Result<Option<Inspection>, StorageError> {
        self.one(GET_INSPECTION, vec![t(inspection_id)]).await
    }

    async fn update_inspection(
        &self,
        tx: &mut Tx,
        i: &Inspection,
        original: Option<&Inspection>,
    ) -> Result<(), StorageError> {
        let row = |i: &Inspection| -> Result<Vec<Arg>, StorageError> {
            Ok(vec![
                t(&i.inspection_id),
                Arg::Int(i64::from(i.status)),
                Arg::Int(i.rectification_deadline.unwrap_or(NO_BOUND)),
                Arg::Text(json(i)?),
            ])
        };
        let (first, second) = (row(i)?, original.map(row).transpose()?);
        Self::execute_in(tx, UPDATE_INSPECTION, first).await?;
        if let Some(second) = second {
            Self::execute_in(tx, MARK_REINSPECTED, second).await?;
        }
        Ok(())
    }

    async fn due_reinspections(
        &self,
        f: &ReinspectionFilter,
        page: Page,
    ) -> Result<Vec<Inspection>, StorageError> {
        let mut args = scope_args(&f.scope);
        args.truncate(3);
        args.extend([
            Arg::Int(i64::from(f.premises_kind)),
            Arg::Int(f.due_before.unwrap_or(NO_BOUND)),
            Arg::Int(page.limit),
            Arg::Int(page.offset),
        ]);
        parse_all(self.bodies(DUE_REINSPECTIONS, args).await?)
    }

    async fn insert_outreach(
        &self,
        tx: &mut Tx,
        o: &Outreach,
    ) -> Result<Inserted<Outreach>, StorageError> {
        let args = vec![
            t(&o.outreach_id),
            t(&o.request_id),
            t(&o.grid_id),
            t(&o.station_id),
            Arg::Int(o.held_at),
            Arg::Text(json(o)?),
        ];
        Self::insert_once(
            tx,
            INSERT_OUTREACH,
            OUTREACH_BY_REQUEST,
            &o.request_id,
            o,
            args,
        )
        .await
    }

    async fn outreach(&self, f: &OutreachFilter) -> Result<Vec<Outreach>, StorageError> {
        let args = vec![
            stations_arg(&f.scope),
            t(&f.scope.station_id),
            list_arg(&f.grid_ids),
            Arg::Int(f.from.unwrap_or(i64::MIN)),
            Arg::Int(f.until.unwrap_or(NO_BOUND)),
        ];
        parse_all(self.bodies(OUTREACH_IN_SCOPE, args).await?)
    }

    async fn insert_broadcast(
        &self,
        tx: &mut Tx,
        b: &Broadcast,
    ) -> Result<Inserted<Broadcast>, StorageError> {
        let args = vec![
            t(&b.broadcast_id),
            t(&b.request_id),
            t(&b.grid_id),
            Arg::Int(b.created_at),
            Arg::Text(json(b)?),
        ];
        Self::insert_once(
            tx,
            INSERT_BROADCAST,
            BROADCAST_BY_REQUEST,
            &b.request_id,
            b,
            args,
        )
        .await
    }

    async fn broadcast_by_request(
        &self,
        request_id: &str,
    ) -> Result<Option<Broadcast>, StorageError> {
        self.one(BROADCAST_BY_REQUEST, vec![t(request_id)]).await
    }
}
