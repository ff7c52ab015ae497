//! Service requests in the store: the [`ServiceRequestStore`] half of [`super::Store`], its rows
//! and its SQL, written once with `$N` placeholders for both backends. A step of a request locks
//! its row first (`lock_service_request`), so the checklist and the history of one request change
//! one transaction at a time on Postgres as on SQLite.

use std::collections::HashMap;

use pingan_platform::StorageError;
use pingan_platform::storage::Tx;
use pingan_platform::storage_rows::{Arg, Cols, Columns, On, execute, insert, t, update};
use pingan_proto::grid::v1 as pb;

use super::db::{MillisCols, opt_time, rows_in, time};
use super::encode::{actor, enum_arg, enum_col, enum_filter, opt_actor, sealed, sealed_cols};
use super::support::stations_arg;
use super::{Page, Scope, SqlStore};
use crate::domain::Millis;
use crate::domain::service_request::{RequestEvent, RequestItem, ServiceRequest};

/// Filters of the service request listing and report (`scope.officer_id`: the helping
/// officer); the period is on `requested_at`, `[from, until)`.
#[derive(Debug, Clone, Default)]
pub struct ServiceRequestFilter {
    pub scope: Scope,
    /// Only this type (0: any).
    pub kind: i32,
    /// Only this status (0: any).
    pub status: i32,
    /// Only OPEN requests due by this time.
    pub overdue_at: Option<Millis>,
    pub from: Option<Millis>,
    pub until: Option<Millis>,
}

/// Service requests, their checklists and their histories.
#[tonic::async_trait]
pub trait ServiceRequestStore: Send + Sync {
    /// Stores a new request with its checklist and its first event.
    async fn insert_service_request(
        &self,
        tx: &mut Tx,
        request: &ServiceRequest,
        opened: &RequestEvent,
    ) -> Result<(), StorageError>;
    /// The request with its checklist, its row locked until `tx` ends (None when unknown).
    async fn lock_service_request(
        &self,
        tx: &mut Tx,
        service_request_id: &str,
    ) -> Result<Option<ServiceRequest>, StorageError>;
    /// Ticks an item not yet ticked (its completion fields); false when it already was.
    async fn complete_service_request_item(
        &self,
        tx: &mut Tx,
        service_request_id: &str,
        item: &RequestItem,
    ) -> Result<bool, StorageError>;
    /// Writes the request's own columns and appends `event` to its history (the next `seq`);
    /// returns the event as stored.
    async fn record_service_request_step(
        &self,
        tx: &mut Tx,
        request: &ServiceRequest,
        event: &RequestEvent,
    ) -> Result<RequestEvent, StorageError>;
    /// A request with its checklist.
    async fn service_request(
        &self,
        service_request_id: &str,
    ) -> Result<Option<ServiceRequest>, StorageError>;
    /// A request's history, in the order recorded.
    async fn service_request_history(
        &self,
        service_request_id: &str,
    ) -> Result<Vec<RequestEvent>, StorageError>;
    /// Requests in scope with their checklists, newest requested first.
    async fn list_service_requests(
        &self,
        filter: &ServiceRequestFilter,
        page: Page,
    ) -> Result<Vec<ServiceRequest>, StorageError>;
    /// Every request in scope, without checklists, for the report (`overdue_at`, `status` and
    /// the officer are not used).
    async fn service_requests_for_report(
        &self,
        filter: &ServiceRequestFilter,
    ) -> Result<Vec<ServiceRequest>, StorageError>;
    /// OPEN requests due by `now`, counted by type.
    async fn overdue_service_request_counts(
        &self,
        now: Millis,
    ) -> Result<HashMap<i32, i64>, StorageError>;
}

const LOCK: &str =
    "UPDATE service_requests SET updated_at = updated_at WHERE service_request_id = $1";
const GET: &str = "SELECT * FROM service_requests WHERE service_request_id = $1";
const ITEMS_OF: &str = "SELECT * FROM service_request_items WHERE service_request_id IN (IN_LIST) \
    ORDER BY service_request_id, position";
const COMPLETE_ITEM: &str = "UPDATE service_request_items SET completed_at = $3, \
    completed_by_subject = $4, completed_by_role = $5, note = $6 \
    WHERE service_request_id = $1 AND item_key = $2 AND completed_at IS NULL";
const NEXT_SEQ: &str = "SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM service_request_events \
    WHERE service_request_id = $1";
const HISTORY: &str =
    "SELECT * FROM service_request_events WHERE service_request_id = $1 ORDER BY seq";

/// Requests in the caller's stations ($1), of a station ($2), a grid ($3), of a type ($4), made
/// in `[$5, $6)`.
macro_rules! requests_where {
    ($tail:literal) => {
        concat!(
            "SELECT * FROM service_requests WHERE \
            ($1 = '' OR ',' || $1 || ',' LIKE '%,' || station_id || ',%') \
            AND ($2 = '' OR station_id = $2) AND ($3 = '' OR grid_id = $3) \
            AND ($4 = '' OR type = $4) \
            AND ($5 IS NULL OR requested_at >= $5) AND ($6 IS NULL OR requested_at < $6) ",
            $tail
        )
    };
}

const LIST: &str = requests_where!(
    "AND ($7 = '' OR officer_id = $7) AND ($8 = '' OR status = $8) \
    AND ($9 IS NULL OR (status = $10 AND due_at <= $9)) \
    ORDER BY requested_at DESC, service_request_id DESC LIMIT $11 OFFSET $12"
);
const FOR_REPORT: &str = requests_where!("ORDER BY station_id, type, service_request_id");
const OVERDUE_COUNTS: &str = "SELECT type, COUNT(*) AS n FROM service_requests \
    WHERE status = $1 AND due_at <= $2 GROUP BY type";

fn open_status() -> Arg {
    enum_arg::<pb::ServiceRequestStatus>(pb::ServiceRequestStatus::Open as i32)
}

fn request_row(r: &ServiceRequest) -> Result<Columns, StorageError> {
    let mut row = vec![
        ("service_request_id", t(&r.service_request_id)),
        ("request_id", t(&r.request_id)),
        ("type", enum_arg::<pb::ServiceRequestType>(r.kind)),
        ("status", enum_arg::<pb::ServiceRequestStatus>(r.status)),
        ("outcome", enum_arg::<pb::ServiceRequestOutcome>(r.outcome)),
        ("station_id", t(&r.station_id)),
        ("grid_id", t(&r.grid_id)),
        ("resident_id", t(&r.resident_id)),
        ("applicant_name", t(&r.applicant_name)),
        ("channel", enum_arg::<pb::ServiceRequestChannel>(r.channel)),
        ("officer_id", t(&r.officer_id)),
        ("description", t(&r.description)),
        ("requested_at", time(r.requested_at)?),
        ("due_at", time(r.due_at)?),
        ("submitted_at", opt_time(r.submitted_at)?),
        ("submit_note", t(&r.submit_note)),
        ("closed_at", opt_time(r.closed_at)?),
        ("close_note", t(&r.close_note)),
        ("opened_by_subject", t(&r.opened_by.subject)),
        ("opened_by_role", t(&r.opened_by.role)),
        ("created_at", time(r.created_at)?),
        ("updated_at", time(r.updated_at)?),
    ];
    sealed_cols(
        &mut row,
        "applicant_phone_masked",
        "applicant_phone_sealed",
        &r.applicant_phone,
    );
    Ok(row)
}

fn request(r: &dyn Cols) -> Result<ServiceRequest, StorageError> {
    Ok(ServiceRequest {
        service_request_id: r.text("service_request_id")?,
        request_id: r.text("request_id")?,
        kind: enum_col::<pb::ServiceRequestType>(r, "type")?,
        status: enum_col::<pb::ServiceRequestStatus>(r, "status")?,
        outcome: enum_col::<pb::ServiceRequestOutcome>(r, "outcome")?,
        station_id: r.text("station_id")?,
        grid_id: r.text("grid_id")?,
        resident_id: r.text("resident_id")?,
        applicant_name: r.text("applicant_name")?,
        applicant_phone: sealed(r, "applicant_phone_masked", "applicant_phone_sealed")?,
        channel: enum_col::<pb::ServiceRequestChannel>(r, "channel")?,
        officer_id: r.text("officer_id")?,
        description: r.text("description")?,
        requested_at: r.millis("requested_at")?,
        due_at: r.millis("due_at")?,
        submitted_at: r.opt_millis("submitted_at")?,
        submit_note: r.text("submit_note")?,
        closed_at: r.opt_millis("closed_at")?,
        close_note: r.text("close_note")?,
        items: Vec::new(),
        opened_by: actor(r, "opened_by_subject", "opened_by_role")?,
        created_at: r.millis("created_at")?,
        updated_at: r.millis("updated_at")?,
    })
}

fn item(r: &dyn Cols) -> Result<(String, RequestItem), StorageError> {
    Ok((
        r.text("service_request_id")?,
        RequestItem {
            key: r.text("item_key")?,
            description: r.text("description")?,
            requirement: enum_col::<pb::ChecklistRequirement>(r, "requirement")?,
            completed_at: r.opt_millis("completed_at")?,
            completed_by: opt_actor(r, "completed_by_subject", "completed_by_role")?,
            note: r.text("note")?,
        },
    ))
}

fn event_row(e: &RequestEvent) -> Result<Columns, StorageError> {
    Ok(vec![
        ("service_request_id", t(&e.service_request_id)),
        ("seq", Arg::Int(Some(e.seq))),
        ("kind", enum_arg::<pb::ServiceRequestEventKind>(e.kind)),
        ("at", time(e.at)?),
        ("actor_subject", t(&e.actor.subject)),
        ("actor_role", t(&e.actor.role)),
        ("item_key", t(&e.item_key)),
        ("status", enum_arg::<pb::ServiceRequestStatus>(e.status)),
        ("outcome", enum_arg::<pb::ServiceRequestOutcome>(e.outcome)),
        ("note", t(&e.note)),
    ])
}

fn event(r: &dyn Cols) -> Result<RequestEvent, StorageError> {
    Ok(RequestEvent {
        service_request_id: r.text("service_request_id")?,
        seq: r.int("seq")?,
        kind: enum_col::<pb::ServiceRequestEventKind>(r, "kind")?,
        at: r.millis("at")?,
        actor: actor(r, "actor_subject", "actor_role")?,
        item_key: r.text("item_key")?,
        status: enum_col::<pb::ServiceRequestStatus>(r, "status")?,
        outcome: enum_col::<pb::ServiceRequestOutcome>(r, "outcome")?,
        note: r.text("note")?,
    })
}

/// Fills in the checklists of `list`: one query per chunk of ids.
async fn with_items(on: &mut On<'_>, list: &mut [ServiceRequest]) -> Result<(), StorageError> {
    let ids: Vec<String> = list.iter().map(|r| r.service_request_id.clone()).collect();
    let mut items: HashMap<String, Vec<RequestItem>> = HashMap::new();
    for (id, item) in rows_in(on, ITEMS_OF, &ids, item).await? {
        items.entry(id).or_default().push(item);
    }
    for r in list {
        r.items = items.remove(&r.service_request_id).unwrap_or_default();
    }
    Ok(())
}

async fn append_event(tx: &mut Tx, e: &RequestEvent) -> Result<RequestEvent, StorageError> {
    let seq = On::Tx(tx)
        .count(NEXT_SEQ, vec![t(&e.service_request_id)])
        .await?;
    let stored = RequestEvent { seq, ..e.clone() };
    insert(tx, "service_request_events", event_row(&stored)?, "").await?;
    Ok(stored)
}

fn filter_args(f: &ServiceRequestFilter) -> Result<Vec<Arg>, StorageError> {
    Ok(vec![
        stations_arg(&f.scope),
        t(&f.scope.station_id),
        t(&f.scope.grid_id),
        enum_filter::<pb::ServiceRequestType>(f.kind),
        opt_time(f.from)?,
        opt_time(f.until)?,
    ])
}

#[tonic::async_trait]
impl ServiceRequestStore for SqlStore {
    async fn insert_service_request(
        &self,
        tx: &mut Tx,
        r: &ServiceRequest,
        opened: &RequestEvent,
    ) -> Result<(), StorageError> {
        insert(tx, "service_requests", request_row(r)?, "").await?;
        for (position, i) in (0_i64..).zip(&r.items) {
            let completed_by = i.completed_by.as_ref();
            let row: Columns = vec![
                ("service_request_id", t(&r.service_request_id)),
                ("position", Arg::Int(Some(position))),
                ("item_key", t(&i.key)),
                ("description", t(&i.description)),
                (
                    "requirement",
                    enum_arg::<pb::ChecklistRequirement>(i.requirement),
                ),
                ("completed_at", opt_time(i.completed_at)?),
                (
                    "completed_by_subject",
                    Arg::Text(completed_by.map(|a| a.subject.clone())),
                ),
                (
                    "completed_by_role",
                    Arg::Text(completed_by.map(|a| a.role.clone())),
                ),
                ("note", t(&i.note)),
            ];
            insert(tx, "service_request_items", row, "").await?;
        }
        append_event(tx, opened).await?;
        Ok(())
    }

    async fn lock_service_request(
        &self,
        tx: &mut Tx,
        id: &str,
    ) -> Result<Option<ServiceRequest>, StorageError> {
        if execute(tx, LOCK, vec![t(id)]).await? == 0 {
            return Ok(None);
        }
        let mut on = On::Tx(tx);
        let Some(found) = on.first(GET, vec![t(id)], request).await? else {
            return Ok(None);
        };
        let mut list = [found];
        with_items(&mut on, &mut list).await?;
        let [found] = list;
        Ok(Some(found))
    }

    async fn complete_service_request_item(
        &self,
        tx: &mut Tx,
        id: &str,
        i: &RequestItem,
    ) -> Result<bool, StorageError> {
        let by = i.completed_by.clone().unwrap_or_default();
        let args = vec![
            t(id),
            t(&i.key),
            opt_time(i.completed_at)?,
            t(&by.subject),
            t(&by.role),
            t(&i.note),
        ];
        Ok(execute(tx, COMPLETE_ITEM, args).await? == 1)
    }

    async fn record_service_request_step(
        &self,
        tx: &mut Tx,
        r: &ServiceRequest,
        e: &RequestEvent,
    ) -> Result<RequestEvent, StorageError> {
        update(tx, "service_requests", request_row(r)?).await?;
        append_event(tx, e).await
    }

    async fn service_request(&self, id: &str) -> Result<Option<ServiceRequest>, StorageError> {
        let mut found = self.all(GET, vec![t(id)], request).await?;
        with_items(&mut self.pool(), &mut found).await?;
        Ok(found.into_iter().next())
    }

    async fn service_request_history(&self, id: &str) -> Result<Vec<RequestEvent>, StorageError> {
        self.all(HISTORY, vec![t(id)], event).await
    }

    async fn list_service_requests(
        &self,
        f: &ServiceRequestFilter,
        page: Page,
    ) -> Result<Vec<ServiceRequest>, StorageError> {
        let mut args = filter_args(f)?;
        args.extend([
            t(&f.scope.officer_id),
            enum_filter::<pb::ServiceRequestStatus>(f.status),
            opt_time(f.overdue_at)?,
            open_status(),
            Arg::Int(Some(page.limit)),
            Arg::Int(Some(page.offset)),
        ]);
        let mut found = self.all(LIST, args, request).await?;
        with_items(&mut self.pool(), &mut found).await?;
        Ok(found)
    }

    async fn service_requests_for_report(
        &self,
        f: &ServiceRequestFilter,
    ) -> Result<Vec<ServiceRequest>, StorageError> {
        self.all(FOR_REPORT, filter_args(f)?, request).await
    }

    async fn overdue_service_request_counts(
        &self,
        now: Millis,
    ) -> Result<HashMap<i32, i64>, StorageError> {
        let rows = self
            .all(OVERDUE_COUNTS, vec![open_status(), time(now)?], |r| {
                Ok((enum_col::<pb::ServiceRequestType>(r, "type")?, r.int("n")?))
            })
            .await?;
        Ok(rows.into_iter().collect())
    }
}
