//! The SQL store: portable SQL written once, run on either backend; one typed column per field,
//! lists in child tables (see migrations/*/0002_columns.sql).

use std::collections::HashMap;

use pingan_platform::storage::Tx;
use pingan_platform::storage_rows::{
    Arg, ON_CONFLICT_DO_NOTHING, On, execute, insert, t, update, update_when,
};
use pingan_platform::{Db, StorageError};
use pingan_proto::grid::v1 as pb;

use super::db::{opt_time, rows_in, upsert_created};
use super::encode::{enum_arg, enum_filter, names};
use super::places::{self, PREMISES_TEMPLATES, RESIDENT_TAGS};
use super::queries::*;
use super::support::{insert_once, list_arg, open_status, scope_args, stations_arg};
use super::{Inserted, NeedFilter, OutreachFilter, Page, ReinspectionFilter, Scope, Store};
use super::{InspectionFilter, NeedQuery, PremisesFilter, VisitFilter};
use super::{reach, work};
use crate::domain::*;

/// The registry's tables on Postgres or SQLite.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pub(super) db: Db,
}

impl SqlStore {
    /// A store over a migrated database.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[tonic::async_trait]
impl Store for SqlStore {
    async fn grid_version(&self) -> Result<i64, StorageError> {
        let db = &self.db;
        db.retry_read(move || async move { On::Pool(db).count(GRID_VERSION, vec![]).await })
            .await
    }

    async fn put_station(&self, tx: &mut Tx, s: &Station) -> Result<bool, StorageError> {
        let created =
            upsert_created(tx, "stations", &["station_id"], places::station_row(s)?).await?;
        execute(tx, BUMP_GRID_VERSION, vec![]).await?;
        Ok(created)
    }

    async fn station(&self, station_id: &str) -> Result<Option<Station>, StorageError> {
        self.one(GET_STATION, vec![t(station_id)], places::station)
            .await
    }

    async fn stations(&self) -> Result<Vec<Station>, StorageError> {
        self.all(ALL_STATIONS, vec![], places::station).await
    }

    async fn put_grid(&self, tx: &mut Tx, g: &Grid) -> Result<bool, StorageError> {
        let created = upsert_created(tx, "grids", &["grid_id"], places::grid_row(g)?).await?;
        execute(tx, BUMP_GRID_VERSION, vec![]).await?;
        Ok(created)
    }

    async fn grid(&self, grid_id: &str) -> Result<Option<Grid>, StorageError> {
        self.one(GET_GRID, vec![t(grid_id)], places::grid).await
    }

    async fn all_grids(&self) -> Result<Vec<Grid>, StorageError> {
        self.all(ALL_GRIDS, vec![], places::grid).await
    }

    async fn list_grids(
        &self,
        scope: &Scope,
        kind: i32,
        page: Page,
    ) -> Result<Vec<Grid>, StorageError> {
        let mut args = scope_args(scope);
        args.extend([
            enum_filter::<pb::GridKind>(kind),
            Arg::Int(Some(page.limit)),
            Arg::Int(Some(page.offset)),
        ]);
        self.all(LIST_GRIDS, args, places::grid).await
    }

    async fn put_officer(&self, tx: &mut Tx, o: &GridOfficer) -> Result<(), StorageError> {
        let key = ["grid_id", "officer_id", "role"];
        upsert_created(tx, "grid_officers", &key, places::officer_row(o)?)
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
        let args = vec![t(grid_id), t(officer_id), enum_arg::<pb::OfficerRole>(role)];
        Ok(execute(tx, DELETE_OFFICER, args).await? > 0)
    }

    async fn officers(&self, grid_id: &str) -> Result<Vec<GridOfficer>, StorageError> {
        let mut officers = self
            .all(GRID_OFFICERS, vec![t(grid_id)], places::officer)
            .await?;
        // Roles are stored by name; their order (village officers first) is the proto number's.
        officers.sort_by(|a, b| (a.role, &a.officer_id).cmp(&(b.role, &b.officer_id)));
        Ok(officers)
    }

    async fn officers_of(&self, grid_ids: &[String]) -> Result<Vec<GridOfficer>, StorageError> {
        let mut officers = rows_in(
            &mut self.pool(),
            OFFICERS_OF_GRIDS,
            grid_ids,
            places::officer,
        )
        .await?;
        officers.sort_by(|a, b| {
            (&a.grid_id, a.role, &a.officer_id).cmp(&(&b.grid_id, b.role, &b.officer_id))
        });
        Ok(officers)
    }

    async fn put_address(&self, tx: &mut Tx, a: &Address) -> Result<bool, StorageError> {
        upsert_created(tx, "addresses", &["address_id"], places::address_row(a)?).await
    }

    async fn address(&self, address_id: &str) -> Result<Option<Address>, StorageError> {
        self.one(GET_ADDRESS, vec![t(address_id)], places::address)
            .await
    }

    async fn addresses(&self, scope: &Scope) -> Result<Vec<Address>, StorageError> {
        let args = vec![stations_arg(scope), t(&scope.station_id), t(&scope.grid_id)];
        self.all(ADDRESSES_IN_SCOPE, args, places::address).await
    }

    async fn put_resident(&self, tx: &mut Tx, r: &Resident) -> Result<bool, StorageError> {
        let created =
            upsert_created(tx, "residents", &["resident_id"], places::resident_row(r)?).await?;
        let tags = names::<pb::ResidentTag>(&r.tags);
        RESIDENT_TAGS.write(tx, &r.resident_id, &tags).await?;
        Ok(created)
    }

    async fn resident(&self, resident_id: &str) -> Result<Option<Resident>, StorageError> {
        let found = self
            .all(GET_RESIDENT, vec![t(resident_id)], places::resident)
            .await?;
        Ok(self.with_tags(found).await?.into_iter().next())
    }

    async fn resident_by_id_hash(&self, hash: &str) -> Result<Option<Resident>, StorageError> {
        let found = self
            .all(RESIDENT_BY_HASH, vec![t(hash)], places::resident)
            .await?;
        Ok(self.with_tags(found).await?.into_iter().next())
    }

    async fn residents(&self, scope: &Scope) -> Result<Vec<Resident>, StorageError> {
        let found = self
            .all(RESIDENTS_IN_SCOPE, scope_args(scope), places::resident)
            .await?;
        self.with_tags(found).await
    }

    async fn put_house(&self, tx: &mut Tx, h: &House) -> Result<bool, StorageError> {
        upsert_created(tx, "houses", &["house_id"], places::house_row(h)?).await
    }

    async fn house(&self, house_id: &str) -> Result<Option<House>, StorageError> {
        self.one(GET_HOUSE, vec![t(house_id)], places::house).await
    }

    async fn put_premises(&self, tx: &mut Tx, p: &Premises) -> Result<bool, StorageError> {
        let created =
            upsert_created(tx, "premises", &["premises_id"], places::premises_row(p)?).await?;
        PREMISES_TEMPLATES
            .write(tx, &p.premises_id, &p.inspection_template_ids)
            .await?;
        Ok(created)
    }

    async fn premises(&self, premises_id: &str) -> Result<Option<Premises>, StorageError> {
        let found = self
            .all(GET_PREMISES, vec![t(premises_id)], places::premises)
            .await?;
        Ok(self.with_templates(found).await?.into_iter().next())
    }

    async fn premises_in_grid(&self, grid_id: &str) -> Result<Vec<Premises>, StorageError> {
        let found = self
            .all(PREMISES_IN_GRID, vec![t(grid_id)], places::premises)
            .await?;
        self.with_templates(found).await
    }

    async fn record_lookup(&self, tx: &mut Tx, l: &IdLookup) -> Result<(), StorageError> {
        if insert(
            tx,
            "id_lookups",
            places::lookup_row(l)?,
            ON_CONFLICT_DO_NOTHING,
        )
        .await?
        {
            Ok(())
        } else {
            Err(StorageError::Conflict(format!("lookup {}", l.lookup_id)))
        }
    }

    async fn insert_visit(&self, tx: &mut Tx, v: &Visit) -> Result<Inserted<Visit>, StorageError> {
        let row = work::visit_row(v)?;
        Ok(
            match insert_once(
                tx,
                "visits",
                row,
                &v.request_id,
                VISIT_BY_REQUEST,
                work::visit,
            )
            .await?
            {
                None => Inserted::New(v.clone()),
                Some(existing) => Inserted::Existing(existing),
            },
        )
    }

    async fn insert_need(&self, tx: &mut Tx, n: &Need) -> Result<Inserted<Need>, StorageError> {
        let row = work::need_row(n)?;
        Ok(
            match insert_once(tx, "needs", row, &n.request_id, NEED_BY_REQUEST, work::need).await? {
                None => Inserted::New(n.clone()),
                Some(existing) => Inserted::Existing(existing),
            },
        )
    }

    async fn need(&self, need_id: &str) -> Result<Option<Need>, StorageError> {
        self.one(GET_NEED, vec![t(need_id)], work::need).await
    }

    async fn settle_need(&self, tx: &mut Tx, n: &Need) -> Result<bool, StorageError> {
        let row = work::need_row(n)?;
        let condition = format!("AND status = ${}", row.len() + 1);
        Ok(update_when(tx, "needs", row, &condition, vec![open_status()]).await? == 1)
    }

    async fn open_needs(&self, f: &NeedFilter, page: Page) -> Result<Vec<Need>, StorageError> {
        let categories = names::<pb::NeedCategory>(&f.categories);
        let mut args = scope_args(&f.scope);
        args.extend([
            t(&f.resident_id),
            t(&f.premises_id),
            list_arg(&categories),
            opt_time(f.due_before)?,
            Arg::Int(Some(page.limit)),
            Arg::Int(Some(page.offset)),
            open_status(),
        ]);
        self.all(OPEN_NEEDS, args, work::need).await
    }

    async fn open_need_count(&self, resident_id: &str) -> Result<i64, StorageError> {
        self.pool()
            .count(OPEN_NEED_COUNT, vec![t(resident_id), open_status()])
            .await
    }

    async fn open_need_counts(
        &self,
        resident_ids: &[String],
    ) -> Result<HashMap<String, i64>, StorageError> {
        self.need_counts(resident_ids).await
    }

    async fn insert_inspection(
        &self,
        tx: &mut Tx,
        i: &Inspection,
    ) -> Result<Inserted<Inspection>, StorageError> {
        let mut row = work::inspection_row(i)?;
        row.push(("reinspected", Arg::Bool(false)));
        let by_request = INSPECTION_BY_REQUEST;
        match insert_once(
            tx,
            "inspections",
            row,
            &i.request_id,
            by_request,
            work::inspection,
        )
        .await?
        {
            None => {
                work::write_inspection_children(tx, i).await?;
                Ok(Inserted::New(i.clone()))
            }
            Some(mut existing) => {
                work::read_inspection_children(&mut On::Tx(tx), &mut existing).await?;
                Ok(Inserted::Existing(existing))
            }
        }
    }

    async fn inspection(&self, inspection_id: &str) -> Result<Option<Inspection>, StorageError> {
        Ok(self
            .inspections(GET_INSPECTION, vec![t(inspection_id)])
            .await?
            .into_iter()
            .next())
    }

    async fn update_inspection(
        &self,
        tx: &mut Tx,
        i: &Inspection,
        original: Option<&Inspection>,
    ) -> Result<(), StorageError> {
        for each in std::iter::once(i).chain(original) {
            update(tx, "inspections", work::inspection_row(each)?).await?;
            work::write_inspection_children(tx, each).await?;
        }
        if let Some(original) = original {
            execute(tx, MARK_REINSPECTED, vec![t(&original.inspection_id)]).await?;
        }
        Ok(())
    }

    async fn due_reinspections(
        &self,
        f: &ReinspectionFilter,
        page: Page,
    ) -> Result<Vec<Inspection>, StorageError> {
        let required = pb::InspectionStatus::RectificationRequired as i32;
        let args = vec![
            stations_arg(&f.scope),
            t(&f.scope.station_id),
            t(&f.scope.grid_id),
            enum_filter::<pb::PremisesKind>(f.premises_kind),
            opt_time(f.due_before)?,
            Arg::Int(Some(page.limit)),
            Arg::Int(Some(page.offset)),
            enum_arg::<pb::InspectionStatus>(required),
        ];
        self.inspections(DUE_REINSPECTIONS, args).await
    }

    async fn insert_outreach(
        &self,
        tx: &mut Tx,
        o: &Outreach,
    ) -> Result<Inserted<Outreach>, StorageError> {
        let row = reach::outreach_row(o)?;
        match insert_once(
            tx,
            "outreach",
            row,
            &o.request_id,
            OUTREACH_BY_REQUEST,
            reach::outreach,
        )
        .await?
        {
            None => {
                reach::write_outreach_children(tx, o).await?;
                Ok(Inserted::New(o.clone()))
            }
            Some(mut existing) => {
                reach::read_outreach_children(&mut On::Tx(tx), &mut existing).await?;
                Ok(Inserted::Existing(existing))
            }
        }
    }

    async fn outreach(&self, f: &OutreachFilter) -> Result<Vec<Outreach>, StorageError> {
        let args = vec![
            stations_arg(&f.scope),
            t(&f.scope.station_id),
            list_arg(&f.grid_ids),
            opt_time(f.from)?,
            opt_time(f.until)?,
        ];
        let mut list = self.all(OUTREACH_IN_SCOPE, args, reach::outreach).await?;
        reach::read_outreach_list_children(&mut self.pool(), &mut list).await?;
        Ok(list)
    }

    async fn list_premises(
        &self,
        f: &PremisesFilter,
        page: Page,
    ) -> Result<Vec<Premises>, StorageError> {
        self.read_premises(f, page).await
    }

    async fn last_inspections(
        &self,
        premises_ids: &[String],
    ) -> Result<HashMap<String, Inspection>, StorageError> {
        self.read_last_inspections(premises_ids).await
    }

    async fn list_inspections(
        &self,
        f: &InspectionFilter,
        page: Page,
    ) -> Result<Vec<Inspection>, StorageError> {
        self.read_inspections(f, page).await
    }

    async fn list_needs(&self, f: &NeedQuery, page: Page) -> Result<Vec<Need>, StorageError> {
        self.read_needs(f, page).await
    }

    async fn need_visits(&self, need_id: &str, visit_id: &str) -> Result<Vec<Visit>, StorageError> {
        self.read_need_visits(need_id, visit_id).await
    }

    async fn list_visits(&self, f: &VisitFilter, page: Page) -> Result<Vec<Visit>, StorageError> {
        self.read_visits(f, page).await
    }

    async fn insert_broadcast(
        &self,
        tx: &mut Tx,
        b: &Broadcast,
    ) -> Result<Inserted<Broadcast>, StorageError> {
        let row = reach::broadcast_row(b)?;
        let by_request = BROADCAST_BY_REQUEST;
        match insert_once(
            tx,
            "broadcasts",
            row,
            &b.request_id,
            by_request,
            reach::broadcast,
        )
        .await?
        {
            None => {
                reach::write_broadcast_children(tx, b).await?;
                Ok(Inserted::New(b.clone()))
            }
            Some(mut existing) => {
                reach::read_broadcast_children(&mut On::Tx(tx), &mut existing).await?;
                Ok(Inserted::Existing(existing))
            }
        }
    }

    async fn broadcast_by_request(
        &self,
        request_id: &str,
    ) -> Result<Option<Broadcast>, StorageError> {
        let found = self
            .one(BROADCAST_BY_REQUEST, vec![t(request_id)], reach::broadcast)
            .await?;
        let Some(mut broadcast) = found else {
            return Ok(None);
        };
        reach::read_broadcast_children(&mut self.pool(), &mut broadcast).await?;
        Ok(Some(broadcast))
    }
}
