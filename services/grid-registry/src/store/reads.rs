//! The read side's queries (premises with their last inspection, inspections, needs open and
//! settled, visits), written once with `$N` placeholders for both backends in the style of
//! `queries`: optional filters are `($n = '' OR column = $n)` or `($n IS NULL OR ...)`, the
//! caller's stations arrive as ",a,b," ("" for the bureau), enum filters as their proto names.

use std::collections::HashMap;

use pingan_platform::StorageError;
use pingan_platform::storage_rows::{Arg, t};
use pingan_proto::grid::v1 as pb;

use super::db::{opt_time, rows_in};
use super::encode::{enum_filter, names};
use super::support::{list_arg, scope_args, stations_arg};
use super::{InspectionFilter, NeedQuery, Page, PremisesFilter, Scope, SqlStore, VisitFilter};
use super::{places, work};
use crate::domain::*;

/// Rows in the caller's stations ($1), of a station ($2) and a grid ($3).
macro_rules! in_scope {
    ($table:literal, $tail:literal) => {
        concat!(
            "SELECT * FROM ",
            $table,
            " WHERE ($1 = '' OR ',' || $1 || ',' LIKE '%,' || station_id || ',%') \
            AND ($2 = '' OR station_id = $2) AND ($3 = '' OR grid_id = $3) ",
            $tail
        )
    };
}

const LIST_PREMISES: &str = in_scope!(
    "premises",
    "AND ($4 = '' OR kind = $4) ORDER BY premises_id LIMIT $5 OFFSET $6"
);

/// The latest completed inspection of each premises in `IN_LIST` (ties: the greater id).
const LAST_INSPECTIONS: &str = "SELECT i.* FROM inspections i \
    WHERE i.premises_id IN (IN_LIST) AND i.completed_at IS NOT NULL \
    AND NOT EXISTS (SELECT 1 FROM inspections j WHERE j.premises_id = i.premises_id \
    AND j.completed_at IS NOT NULL AND (j.completed_at > i.completed_at \
    OR (j.completed_at = i.completed_at AND j.inspection_id > i.inspection_id)))";

const LIST_INSPECTIONS: &str = in_scope!(
    "inspections",
    "AND ($4 = '' OR premises_id = $4) AND ($5 = '' OR premises_kind = $5) \
    AND ($6 = '' OR status = $6) \
    AND ($7 IS NULL OR started_at >= $7) AND ($8 IS NULL OR started_at < $8) \
    ORDER BY started_at DESC, inspection_id DESC LIMIT $9 OFFSET $10"
);

const LIST_NEEDS: &str = in_scope!(
    "needs",
    "AND ($4 = '' OR assigned_officer_id = $4) \
    AND ($5 = '' OR resident_id = $5) AND ($6 = '' OR premises_id = $6) \
    AND ($7 = '' OR $7 LIKE '%,' || category || ',%') \
    AND ($8 = '' OR $8 LIKE '%,' || status || ',%') \
    AND ($9 IS NULL OR created_at >= $9) AND ($10 IS NULL OR created_at < $10) \
    ORDER BY created_at DESC, need_id DESC LIMIT $11 OFFSET $12"
);

const NEED_VISITS: &str = "SELECT * FROM visits WHERE need_id = $1 \
    OR ($2 <> '' AND visit_id = $2) ORDER BY visited_at, visit_id";

const LIST_VISITS: &str = in_scope!(
    "visits",
    "AND ($4 = '' OR officer_id = $4) \
    AND ($5 = '' OR resident_id = $5) AND ($6 = '' OR premises_id = $6) \
    AND ($7 = '' OR purpose = $7) AND ($8 = '' OR need_id = $8) \
    AND ($9 IS NULL OR visited_at >= $9) AND ($10 IS NULL OR visited_at < $10) \
    ORDER BY visited_at DESC, visit_id DESC LIMIT $11 OFFSET $12"
);

/// The scope without its officer: stations, station, grid.
fn place_args(scope: &Scope) -> Vec<Arg> {
    vec![stations_arg(scope), t(&scope.station_id), t(&scope.grid_id)]
}

fn page_args(page: Page) -> [Arg; 2] {
    [Arg::Int(Some(page.limit)), Arg::Int(Some(page.offset))]
}

impl SqlStore {
    pub(super) async fn read_premises(
        &self,
        f: &PremisesFilter,
        page: Page,
    ) -> Result<Vec<Premises>, StorageError> {
        let mut args = place_args(&f.scope);
        args.push(enum_filter::<pb::PremisesKind>(f.kind));
        args.extend(page_args(page));
        let found = self.all(LIST_PREMISES, args, places::premises).await?;
        self.with_templates(found).await
    }

    pub(super) async fn read_last_inspections(
        &self,
        premises_ids: &[String],
    ) -> Result<HashMap<String, Inspection>, StorageError> {
        let found = rows_in(
            &mut self.pool(),
            LAST_INSPECTIONS,
            premises_ids,
            work::inspection,
        )
        .await?;
        Ok(found
            .into_iter()
            .map(|i| (i.premises_id.clone(), i))
            .collect())
    }

    pub(super) async fn read_inspections(
        &self,
        f: &InspectionFilter,
        page: Page,
    ) -> Result<Vec<Inspection>, StorageError> {
        let mut args = place_args(&f.scope);
        args.extend([
            t(&f.premises_id),
            enum_filter::<pb::PremisesKind>(f.premises_kind),
            enum_filter::<pb::InspectionStatus>(f.status),
            opt_time(f.from)?,
            opt_time(f.until)?,
        ]);
        args.extend(page_args(page));
        self.inspections(LIST_INSPECTIONS, args).await
    }

    pub(super) async fn read_needs(
        &self,
        f: &NeedQuery,
        page: Page,
    ) -> Result<Vec<Need>, StorageError> {
        let mut args = scope_args(&f.scope);
        args.extend([
            t(&f.resident_id),
            t(&f.premises_id),
            list_arg(&names::<pb::NeedCategory>(&f.categories)),
            list_arg(&names::<pb::NeedStatus>(&f.statuses)),
            opt_time(f.from)?,
            opt_time(f.until)?,
        ]);
        args.extend(page_args(page));
        self.all(LIST_NEEDS, args, work::need).await
    }

    pub(super) async fn read_need_visits(
        &self,
        need_id: &str,
        visit_id: &str,
    ) -> Result<Vec<Visit>, StorageError> {
        self.all(NEED_VISITS, vec![t(need_id), t(visit_id)], work::visit)
            .await
    }

    pub(super) async fn read_visits(
        &self,
        f: &VisitFilter,
        page: Page,
    ) -> Result<Vec<Visit>, StorageError> {
        let mut args = scope_args(&f.scope);
        args.extend([
            t(&f.resident_id),
            t(&f.premises_id),
            enum_filter::<pb::VisitPurpose>(f.purpose),
            t(&f.need_id),
            opt_time(f.from)?,
            opt_time(f.until)?,
        ]);
        args.extend(page_args(page));
        self.all(LIST_VISITS, args, work::visit).await
    }
}
