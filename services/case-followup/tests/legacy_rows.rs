//! A database written before migration 0002 (records as protobuf blobs beside a few columns):
//! its rows read as before, are converted to columns on start (once: a second run finds nothing),
//! read back the same, and their pending owner lookups become jobs. On both backends.

mod support;

use chrono::{DateTime, Duration, TimeZone, Utc};
use pingan_case_followup::app::lookup_job::OWNER_LOOKUP;
use pingan_case_followup::domain::ts;
use pingan_case_followup::store::{DueFilter, MatchFilter, Page};
use pingan_platform::storage::Backend;
use pingan_platform::with_db;
use pingan_proto::common::v1::{Actor, GeoPoint, TimeRange};
use pingan_proto::followup::v1::*;
use prost::Message;
use support::Harness;

const PAGE: Page = Page {
    limit: 10,
    offset: 0,
};

fn at(hour: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 3, 0, 0, 0)
        .single()
        .expect("time")
        + Duration::hours(hour)
}

fn actor(subject: &str) -> Option<Actor> {
    Some(Actor {
        subject: subject.into(),
        role: "station_officer".into(),
        display_name: "值班民警".into(),
    })
}

fn mediation() -> Mediation {
    Mediation {
        mediation_id: "med-old".into(),
        incident_id: "inc-1".into(),
        station_id: "st-a".into(),
        grid_id: "g-1".into(),
        category: "DISPUTE".into(),
        parties: vec![Party {
            name: "张三".into(),
            role: PartyRole::Caller as i32,
            phone_masked: "139****1111".into(),
            position: "邻居".into(),
            ..Party::default()
        }],
        summary: "邻里纠纷".into(),
        mediator_officer_id: "o-1".into(),
        committee_members: vec![CommitteeMember {
            person_id: "p-1".into(),
            name: "李主任".into(),
            committee: "村调委会".into(),
        }],
        status: MediationStatus::Resolved as i32,
        agreement_text: "和解".into(),
        next_step: MediationNextStep::None as i32,
        agreement_signed: true,
        started_at: Some(ts(at(1))),
        concluded_at: Some(ts(at(2))),
        opened_by: actor("o-1"),
        created_at: Some(ts(at(1))),
        updated_at: Some(ts(at(2))),
        ..Mediation::default()
    }
}

fn revisit() -> Revisit {
    Revisit {
        revisit_id: "rv-old".into(),
        incident_id: "inc-1".into(),
        mediation_id: "med-old".into(),
        station_id: "st-a".into(),
        grid_id: "g-1".into(),
        assigned_officer_id: "o-1".into(),
        reason: RevisitReason::Dispute as i32,
        contact_name: "张三".into(),
        contact_phone_masked: "139****1111".into(),
        resident_tags: vec!["独居老人".into(), "低保".into()],
        status: RevisitStatus::Due as i32,
        due_at: Some(ts(at(30))),
        sequence: 1,
        attempts: vec![RevisitAttempt {
            performed_at: Some(ts(at(20))),
            method: ContactMethod::Phone as i32,
            notes: "无人接听".into(),
            recorded_by: actor("o-1"),
            ..RevisitAttempt::default()
        }],
        created_at: Some(ts(at(2))),
        updated_at: Some(ts(at(20))),
        ..Revisit::default()
    }
}

fn found_item() -> FoundItem {
    FoundItem {
        found_item_id: "fi-old".into(),
        kind: ItemKind::IdCard as i32,
        description: "居民身份证".into(),
        found_at: Some(ts(at(3))),
        found_location: Some(GeoPoint {
            lat: 29.655,
            lon: 91.14,
        }),
        custody: Some(Custody {
            station_id: "st-a".into(),
            officer_id: "o-2".into(),
            storage_place: "保管柜 3".into(),
        }),
        id_number_masked: "110105********002X".into(),
        status: FoundItemStatus::Registered as i32,
        registry_lookup: RegistryLookup::Pending as i32,
        contact_task: Some(ContactTask {
            task_id: "ct-1".into(),
            assigned_officer_id: "o-2".into(),
            status: ContactTaskStatus::Open as i32,
            created_at: Some(ts(at(3))),
            due_at: Some(ts(at(3) + Duration::minutes(10))),
            ..ContactTask::default()
        }),
        registered_by: actor("o-2"),
        created_at: Some(ts(at(3))),
        updated_at: Some(ts(at(3))),
        registry_lookup_attempts: 4,
        ..FoundItem::default()
    }
}

fn lost_report() -> LostReport {
    LostReport {
        lost_report_id: "lr-old".into(),
        kind: ItemKind::Wallet as i32,
        description: "黑色钱包".into(),
        lost_during: Some(TimeRange {
            start: Some(ts(at(0))),
            end: Some(ts(at(1))),
        }),
        lost_location: Some(GeoPoint {
            lat: 29.66,
            lon: 91.145,
        }),
        lost_radius_m: 500.0,
        owner_name: "王五".into(),
        owner_phone_masked: "137****2222".into(),
        station_id: "st-b".into(),
        status: LostReportStatus::Open as i32,
        recorded_by: actor("o-3"),
        created_at: Some(ts(at(2))),
        updated_at: Some(ts(at(2))),
        ..LostReport::default()
    }
}

fn a_match() -> Match {
    Match {
        found_item_id: "fi-old".into(),
        lost_report_id: "lr-old".into(),
        score: 0.75,
        kind_match: false,
        time_match: true,
        time_gap: Some(prost_types::Duration {
            seconds: 7200,
            nanos: 0,
        }),
        distance_m: 700.0,
        matched_keywords: vec!["黑色".into()],
        created_at: Some(ts(at(4))),
        ..Match::default()
    }
}

/// An old row: SQL, its text values, its times, its record.
type OldRow = (&'static str, Vec<String>, Vec<DateTime<Utc>>, Vec<u8>);

/// Writes the rows as the 0001 schema did: the record's protobuf beside its 0001 columns.
async fn write_old_rows(h: &Harness) {
    let statements: Vec<OldRow> = vec![
        (
            "INSERT INTO followup_mediations (mediation_id, incident_id, station_id, status, \
             started_at, created_at, updated_at, record) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            vec![
                "med-old".into(),
                "inc-1".into(),
                "st-a".into(),
                "MEDIATION_STATUS_RESOLVED".into(),
            ],
            vec![at(1), at(1), at(2)],
            mediation().encode_to_vec(),
        ),
        (
            "INSERT INTO followup_revisits (revisit_id, schedule_key, incident_id, station_id, \
             grid_id, assigned_officer_id, status, due_at, created_at, updated_at, record) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            vec![
                "rv-old".into(),
                "dispatch:d-1".into(),
                "inc-1".into(),
                "st-a".into(),
                "g-1".into(),
                "o-1".into(),
                "REVISIT_STATUS_DUE".into(),
            ],
            vec![at(30), at(2), at(20)],
            revisit().encode_to_vec(),
        ),
        (
            "INSERT INTO followup_found_items (found_item_id, kind, station_id, status, \
             registry_lookup, created_at, updated_at, record) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            vec![
                "fi-old".into(),
                "ITEM_KIND_ID_CARD".into(),
                "st-a".into(),
                "FOUND_ITEM_STATUS_REGISTERED".into(),
                "REGISTRY_LOOKUP_PENDING".into(),
            ],
            vec![at(3), at(3)],
            found_item().encode_to_vec(),
        ),
        (
            "INSERT INTO followup_lost_reports (lost_report_id, kind, station_id, status, \
             owner_phone_enc, created_at, updated_at, record) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            vec![
                "lr-old".into(),
                "ITEM_KIND_WALLET".into(),
                "st-b".into(),
                "LOST_REPORT_STATUS_OPEN".into(),
                "sealed".into(),
            ],
            vec![at(2), at(2)],
            lost_report().encode_to_vec(),
        ),
        (
            "INSERT INTO followup_matches (found_item_id, lost_report_id, found_station_id, \
             lost_station_id, score, created_at, record) \
             VALUES ($1, $2, $3, $4, 0.75, $5, $6)",
            vec![
                "fi-old".into(),
                "lr-old".into(),
                "st-a".into(),
                "st-b".into(),
            ],
            vec![at(4)],
            a_match().encode_to_vec(),
        ),
    ];
    for (sql, texts, times, record) in statements {
        with_db!(&h.core.context.db, pool => {
            let mut query = sqlx::query(sql);
            for (i, text) in texts.into_iter().enumerate() {
                // The lost report's phone column is a BLOB/BYTEA.
                query = if sql.contains("owner_phone_enc") && i == 4 {
                    query.bind(text.into_bytes())
                } else {
                    query.bind(text)
                };
            }
            for time in times {
                query = query.bind(time);
            }
            query.bind(record).execute(pool).await.map(|_| ())
        })
        .expect("old row written");
    }
}

/// Everything the store reads of the five records.
async fn read_all(h: &Harness) -> (Mediation, Revisit, FoundItem, LostReport, Match) {
    let store = &h.core.store;
    let mut tx = h.core.context.db.begin_write().await.expect("tx");
    let (m, _) = store
        .latest_mediation(&mut tx, "inc-1")
        .await
        .expect("mediation")
        .expect("one");
    let (f, _, _) = store
        .found_item_for_update(&mut tx, "fi-old")
        .await
        .expect("found")
        .expect("one");
    let (l, _, _) = store
        .lost_report_for_update(&mut tx, "lr-old")
        .await
        .expect("lost")
        .expect("one");
    tx.rollback().await.expect("rollback");
    let due = store
        .list_due(&DueFilter::default(), at(0), PAGE)
        .await
        .expect("due");
    let matches = store
        .list_matches(&MatchFilter::default(), PAGE)
        .await
        .expect("matches");
    let r = due.revisits.into_iter().next().expect("revisit").0;
    let mt = matches.into_iter().next().expect("match");
    (m, r, f, l, mt)
}

async fn count(h: &Harness, sql: &str) -> i64 {
    with_db!(&h.core.context.db, pool => sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(pool).await)
        .expect("count")
}

async fn old_blob_rows_are_converted_and_read_back(backend: Backend) {
    let h = Harness::start(backend, None).await.expect("harness");
    write_old_rows(&h).await;
    let expected = (
        mediation(),
        revisit(),
        found_item(),
        lost_report(),
        a_match(),
    );
    assert_eq!(
        read_all(&h).await,
        expected,
        "old rows read before conversion"
    );

    assert_eq!(
        h.core.store.convert_legacy_rows().await.expect("convert"),
        5
    );
    assert_eq!(
        h.core.store.convert_legacy_rows().await.expect("again"),
        0,
        "idempotent"
    );
    for table in [
        "followup_mediations",
        "followup_revisits",
        "followup_found_items",
        "followup_lost_reports",
        "followup_matches",
    ] {
        let left = format!("SELECT COUNT(*) FROM {table} WHERE length(record) > 0");
        assert_eq!(count(&h, &left).await, 0, "{table} still has blobs");
    }
    let columns = "SELECT COUNT(*) FROM followup_mediations WHERE category = 'DISPUTE' \
        AND next_step = 'MEDIATION_NEXT_STEP_NONE' AND opened_by_subject = 'o-1'";
    assert_eq!(count(&h, columns).await, 1, "typed columns filled");
    let children = [
        ("SELECT COUNT(*) FROM followup_mediation_parties", 1),
        ("SELECT COUNT(*) FROM followup_mediation_committee", 1),
        ("SELECT COUNT(*) FROM followup_revisit_tags", 2),
        ("SELECT COUNT(*) FROM followup_revisit_attempts", 1),
        ("SELECT COUNT(*) FROM followup_match_keywords", 1),
    ];
    for (sql, n) in children {
        assert_eq!(count(&h, sql).await, n, "{sql}");
    }
    let lookups = "SELECT COUNT(*) FROM followup_found_items WHERE owner_source IS NULL \
        AND task_id = 'ct-1' AND registry_lookup_attempts = 4 AND found_lat > 29";
    assert_eq!(count(&h, lookups).await, 1);
    assert_eq!(
        read_all(&h).await,
        expected,
        "the same records from columns"
    );

    assert_eq!(h.core.enqueue_pending_lookups().await.expect("enqueue"), 1);
    assert_eq!(h.core.enqueue_pending_lookups().await.expect("again"), 1);
    let job = h.core.jobs.get(OWNER_LOOKUP, "fi-old").await.expect("job");
    assert!(job.is_some(), "the pending lookup is a job now");
    h.cleanup().await;
}

pingan_platform::backend_tests!(old_blob_rows_are_converted_and_read_back);
