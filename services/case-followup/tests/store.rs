//! Conformance of the SQL store on both backends: the same behaviour on SQLite and Postgres.
//! A little past 500 lines on purpose: the whole Store contract reads in one place.

use chrono::{DateTime, Duration, TimeZone, Utc};
use pingan_case_followup::MIGRATIONS;
use pingan_case_followup::domain::ts;
use pingan_case_followup::store::{
    DueFilter, FoundPii, LostPii, MatchFilter, Page, SqlStore, Store,
};
use pingan_platform::backend_tests;
use pingan_platform::storage::{Backend, Tx};
use pingan_platform::testing::TestDatabase;
use pingan_proto::common::v1::TimeRange;
use pingan_proto::followup::v1::{
    Custody, FoundItem, FoundItemStatus, ItemKind, LostReport, LostReportStatus, Match, Mediation,
    MediationStatus, Party, PartyRole, RegistryLookup, Revisit, RevisitAttempt, RevisitStatus,
};

const PAGE: Page = Page {
    limit: 100,
    offset: 0,
};

fn at(hour: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 3, 0, 0, 0)
        .single()
        .expect("time")
        + Duration::hours(hour)
}

async fn fresh(backend: Backend) -> (TestDatabase, SqlStore) {
    let database = TestDatabase::create(backend, &MIGRATIONS)
        .await
        .expect("test database");
    let store = SqlStore::new(database.db.clone());
    (database, store)
}

async fn begin(database: &TestDatabase) -> Tx {
    database.db.begin_write().await.expect("tx")
}

fn mediation(id: &str, incident: &str, hour: i64) -> Mediation {
    Mediation {
        mediation_id: id.into(),
        incident_id: incident.into(),
        station_id: "st-a".into(),
        category: "DISPUTE".into(),
        parties: vec![
            Party {
                name: "张三".into(),
                role: PartyRole::Caller as i32,
                phone: "13900001111".into(),
                phone_masked: "139****1111".into(),
                ..Party::default()
            },
            Party {
                name: "李四".into(),
                role: PartyRole::OtherParty as i32,
                ..Party::default()
            },
        ],
        summary: "邻里纠纷".into(),
        status: MediationStatus::Open as i32,
        started_at: Some(ts(at(hour))),
        created_at: Some(ts(at(hour))),
        updated_at: Some(ts(at(hour))),
        ..Mediation::default()
    }
}

fn revisit(id: &str, incident: &str, due_hour: i64) -> Revisit {
    Revisit {
        revisit_id: id.into(),
        incident_id: incident.into(),
        station_id: "st-a".into(),
        grid_id: "g-1".into(),
        assigned_officer_id: "o-1".into(),
        status: RevisitStatus::Due as i32,
        due_at: Some(ts(at(due_hour))),
        sequence: 1,
        contact_phone: "13900001111".into(),
        contact_phone_masked: "139****1111".into(),
        created_at: Some(ts(at(0))),
        updated_at: Some(ts(at(0))),
        ..Revisit::default()
    }
}

fn found(id: &str, kind: ItemKind) -> FoundItem {
    FoundItem {
        found_item_id: id.into(),
        kind: kind as i32,
        description: "黑色钱包".into(),
        found_at: Some(ts(at(1))),
        custody: Some(Custody {
            station_id: "st-a".into(),
            officer_id: "o-1".into(),
            ..Custody::default()
        }),
        status: FoundItemStatus::Registered as i32,
        registry_lookup: RegistryLookup::NotApplicable as i32,
        created_at: Some(ts(at(1))),
        updated_at: Some(ts(at(1))),
        ..FoundItem::default()
    }
}

fn lost(id: &str, kind: ItemKind) -> LostReport {
    LostReport {
        lost_report_id: id.into(),
        kind: kind as i32,
        description: "钱包丢了".into(),
        lost_during: Some(TimeRange {
            start: Some(ts(at(0))),
            end: Some(ts(at(1))),
        }),
        owner_name: "王五".into(),
        owner_phone: "13700002222".into(),
        owner_phone_masked: "137****2222".into(),
        station_id: "st-b".into(),
        status: LostReportStatus::Open as i32,
        created_at: Some(ts(at(2))),
        updated_at: Some(ts(at(2))),
        ..LostReport::default()
    }
}

async fn mediations_round_trip_without_clear_phones(backend: Backend) {
    let (database, store) = fresh(backend).await;
    let mut tx = begin(&database).await;
    store
        .insert_mediation(&mut tx, &mediation("med-1", "inc-1", 1), Some(vec![1, 2]))
        .await
        .expect("insert");
    store
        .insert_mediation(&mut tx, &mediation("med-2", "inc-1", 2), None)
        .await
        .expect("insert");
    tx.commit().await.expect("commit");

    let mut tx = begin(&database).await;
    let (mut stored, phones) = store
        .mediation_for_update(&mut tx, "med-1")
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(phones, Some(vec![1, 2]));
    assert!(stored.parties[0].phone.is_empty(), "no clear phone kept");
    assert_eq!(stored.parties[0].phone_masked, "139****1111");
    assert_eq!(stored.parties[1].name, "李四");
    stored.status = MediationStatus::Resolved as i32;
    stored.agreement_text = "和解".into();
    stored.updated_at = Some(ts(at(5)));
    store
        .update_mediation(&mut tx, &stored)
        .await
        .expect("update");
    tx.commit().await.expect("commit");

    let mut tx = begin(&database).await;
    let (latest, _) = store
        .latest_mediation(&mut tx, "inc-1")
        .await
        .expect("latest")
        .expect("one");
    assert_eq!(latest.mediation_id, "med-2", "latest by creation");
    let (updated, phones) = store
        .mediation_for_update(&mut tx, "med-1")
        .await
        .expect("read")
        .expect("stored");
    tx.rollback().await.expect("rollback");
    assert_eq!(updated.status, MediationStatus::Resolved as i32);
    assert_eq!(updated.agreement_text, "和解");
    assert_eq!(phones, Some(vec![1, 2]), "phones kept on update");
    assert!(
        store
            .mediation_for_update(&mut begin(&database).await, "med-9")
            .await
            .expect("read")
            .is_none()
    );
    let in_range = store
        .mediations_in_range(at(0), at(2))
        .await
        .expect("range");
    let ids: Vec<_> = in_range.iter().map(|m| m.mediation_id.as_str()).collect();
    assert_eq!(ids, ["med-1"], "[from, to)");
    database.cleanup().await;
}

async fn revisits_schedule_once_and_list_due_with_counts(backend: Backend) {
    let (database, store) = fresh(backend).await;
    let mut tx = begin(&database).await;
    for (id, incident, due) in [
        ("rv-1", "inc-1", 10),
        ("rv-2", "inc-2", 30),
        ("rv-3", "inc-3", 50),
    ] {
        let key = format!("{incident}#1");
        let inserted = store
            .insert_revisit(&mut tx, &revisit(id, incident, due), &key, Some(vec![7]))
            .await
            .expect("insert");
        assert!(inserted);
    }
    let again = store
        .insert_revisit(&mut tx, &revisit("rv-9", "inc-1", 10), "inc-1#1", None)
        .await
        .expect("insert");
    assert!(!again, "scheduled once per key");
    tx.commit().await.expect("commit");

    let page = store
        .list_due(&DueFilter::default(), at(40), PAGE)
        .await
        .expect("due");
    let ids: Vec<_> = page
        .revisits
        .iter()
        .map(|(r, _)| r.revisit_id.as_str())
        .collect();
    assert_eq!(ids, ["rv-1", "rv-2", "rv-3"], "earliest due first");
    assert_eq!((page.total, page.overdue), (3, 2));
    assert!(
        page.revisits[0].0.contact_phone.is_empty(),
        "no clear phone"
    );
    assert_eq!(page.revisits[0].1, Some(vec![7]));
    let before = DueFilter {
        due_before: Some(at(40)),
        ..DueFilter::default()
    };
    let page = store
        .list_due(
            &before,
            at(40),
            Page {
                limit: 1,
                offset: 1,
            },
        )
        .await
        .expect("due");
    assert_eq!(page.revisits.len(), 1);
    assert_eq!(page.revisits[0].0.revisit_id, "rv-2");
    assert_eq!(page.total, 2);

    let mut tx = begin(&database).await;
    let (mut done, phone) = store
        .revisit_for_update(&mut tx, "rv-1")
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(phone, Some(vec![7]));
    done.status = RevisitStatus::Completed as i32;
    done.completed_at = Some(ts(at(9)));
    done.attempts.push(RevisitAttempt {
        performed_at: Some(ts(at(9))),
        contacted: true,
        satisfaction: 5,
        ..RevisitAttempt::default()
    });
    done.updated_at = Some(ts(at(9)));
    store
        .update_revisit(&mut tx, &done, Some(vec![8]))
        .await
        .expect("update");
    let open = store
        .open_revisits_of_incident(&mut tx, "inc-1")
        .await
        .expect("open");
    assert!(open.is_empty(), "completed is not open");
    tx.commit().await.expect("commit");
    assert_eq!(
        store.revisit_phone("rv-1").await.expect("phone"),
        Some(vec![8])
    );
    let page = store
        .list_due(&DueFilter::default(), at(40), PAGE)
        .await
        .expect("due");
    assert_eq!(page.total, 2);
    let station = DueFilter {
        station_id: "st-other".into(),
        ..DueFilter::default()
    };
    assert_eq!(
        store
            .list_due(&station, at(40), PAGE)
            .await
            .expect("due")
            .total,
        0
    );
    let in_range = store
        .revisits_due_in_range(at(0), at(31))
        .await
        .expect("range");
    assert_eq!(in_range.len(), 2);
    let completed = in_range
        .iter()
        .find(|r| r.revisit_id == "rv-1")
        .expect("rv-1");
    assert_eq!(completed.attempts.len(), 1);
    assert_eq!(completed.attempts[0].satisfaction, 5);
    database.cleanup().await;
}

async fn found_items_keep_personal_data_apart_and_queue_lookups(backend: Backend) {
    let (database, store) = fresh(backend).await;
    let mut card = found("fi-1", ItemKind::IdCard);
    card.registry_lookup = RegistryLookup::Pending as i32;
    let mut tx = begin(&database).await;
    let pii = FoundPii {
        id_number_index: Some("idx-1".into()),
        id_number_enc: Some(vec![1]),
        ..FoundPii::default()
    };
    store
        .insert_found_item(&mut tx, &card, pii)
        .await
        .expect("insert");
    store
        .insert_found_item(
            &mut tx,
            &found("fi-2", ItemKind::Wallet),
            FoundPii::default(),
        )
        .await
        .expect("insert");
    tx.commit().await.expect("commit");

    // When each lookup is due is its job's (tests/service.rs); the store lists the pending ones.
    let mut tx = begin(&database).await;
    assert_eq!(
        store.pending_lookups(&mut tx).await.expect("pending"),
        ["fi-1"]
    );
    tx.rollback().await.expect("rollback");
    assert_eq!(
        store.found_id_number("fi-1").await.expect("id"),
        Some(vec![1])
    );
    assert_eq!(store.found_owner_phone("fi-1").await.expect("phone"), None);

    let mut tx = begin(&database).await;
    let (mut item, phone, index) = store
        .found_item_for_update(&mut tx, "fi-1")
        .await
        .expect("read")
        .expect("stored");
    assert_eq!((phone, index.as_deref()), (None, Some("idx-1")));
    item.registry_lookup = RegistryLookup::Found as i32;
    item.registry_lookup_attempts = 2;
    item.status = FoundItemStatus::OwnerIdentified as i32;
    item.updated_at = Some(ts(at(3)));
    let pii = FoundPii {
        owner_phone_enc: Some(vec![9]),
        ..FoundPii::default()
    };
    store
        .update_found_item(&mut tx, &item, pii)
        .await
        .expect("update");
    tx.commit().await.expect("commit");
    let mut tx = begin(&database).await;
    assert!(
        store
            .pending_lookups(&mut tx)
            .await
            .expect("pending")
            .is_empty()
    );
    tx.rollback().await.expect("rollback");
    assert_eq!(
        store.found_owner_phone("fi-1").await.expect("phone"),
        Some(vec![9])
    );
    assert_eq!(
        store.found_id_number("fi-1").await.expect("id"),
        Some(vec![1]),
        "kept when not given"
    );

    let mut tx = begin(&database).await;
    let by_kind = store
        .found_candidates(&mut tx, ItemKind::Wallet as i32, "")
        .await
        .expect("candidates");
    let by_index = store
        .found_candidates(&mut tx, ItemKind::Phone as i32, "idx-1")
        .await
        .expect("candidates");
    tx.rollback().await.expect("rollback");
    assert_eq!(by_kind.len(), 1);
    assert_eq!(by_kind[0].0.found_item_id, "fi-2");
    assert_eq!(by_index.len(), 1);
    let (stored, _, _) = &by_index[0];
    assert_eq!(stored.registry_lookup_attempts, 2);
    assert_eq!(stored.status, FoundItemStatus::OwnerIdentified as i32);
    let all = store.found_in_range(at(0), at(2)).await.expect("range");
    assert_eq!(all.len(), 2);
    database.cleanup().await;
}

async fn lost_reports_and_matches(backend: Backend) {
    let (database, store) = fresh(backend).await;
    let mut tx = begin(&database).await;
    let pii = LostPii {
        id_number_index: Some("idx-2".into()),
        id_number_enc: Some(vec![3]),
        owner_phone_enc: vec![4],
    };
    store
        .insert_lost_report(&mut tx, &lost("lr-1", ItemKind::Wallet), pii)
        .await
        .expect("insert");
    store
        .insert_found_item(
            &mut tx,
            &found("fi-1", ItemKind::Wallet),
            FoundPii::default(),
        )
        .await
        .expect("insert");
    for (lost_id, score) in [("lr-1", 0.7), ("lr-2", 0.9)] {
        let m = Match {
            found_item_id: "fi-1".into(),
            lost_report_id: lost_id.into(),
            score,
            kind_match: true,
            matched_keywords: vec!["钱包".into()],
            created_at: Some(ts(at(3))),
            ..Match::default()
        };
        store
            .upsert_match(&mut tx, &m, "st-a", "st-b")
            .await
            .expect("match");
    }
    tx.commit().await.expect("commit");

    let mut tx = begin(&database).await;
    let (mut report, phone, index) = store
        .lost_report_for_update(&mut tx, "lr-1")
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(phone, Some(vec![4]));
    assert_eq!(index.as_deref(), Some("idx-2"));
    assert!(report.owner_phone.is_empty(), "no clear phone kept");
    assert_eq!(report.owner_phone_masked, "137****2222");
    report.status = LostReportStatus::Matched as i32;
    report.updated_at = Some(ts(at(4)));
    store
        .update_lost_report(&mut tx, &report)
        .await
        .expect("update");
    let candidates = store
        .lost_candidates(&mut tx, ItemKind::Phone as i32, "idx-2")
        .await
        .expect("candidates");
    tx.commit().await.expect("commit");
    assert_eq!(candidates.len(), 1, "by ID-number index");
    assert_eq!(candidates[0].0.status, LostReportStatus::Matched as i32);
    assert_eq!(
        store
            .lost_in_range(at(2), at(3))
            .await
            .expect("range")
            .len(),
        1
    );

    let better = Match {
        found_item_id: "fi-1".into(),
        lost_report_id: "lr-1".into(),
        score: 0.95,
        created_at: Some(ts(at(5))),
        ..Match::default()
    };
    let mut tx = begin(&database).await;
    store
        .upsert_match(&mut tx, &better, "st-a", "st-b")
        .await
        .expect("refresh");
    tx.commit().await.expect("commit");
    let all = store
        .list_matches(&MatchFilter::default(), PAGE)
        .await
        .expect("matches");
    let order: Vec<_> = all
        .iter()
        .map(|m| (m.lost_report_id.as_str(), m.score))
        .collect();
    assert_eq!(
        order,
        [("lr-1", 0.95), ("lr-2", 0.9)],
        "best first, refreshed"
    );
    let on_b = MatchFilter {
        station_id: "st-b".into(),
        min_score: 0.92,
        ..MatchFilter::default()
    };
    assert_eq!(store.list_matches(&on_b, PAGE).await.expect("b").len(), 1);
    let elsewhere = MatchFilter {
        station_id: "st-c".into(),
        ..MatchFilter::default()
    };
    assert!(
        store
            .list_matches(&elsewhere, PAGE)
            .await
            .expect("c")
            .is_empty()
    );
    database.cleanup().await;
}

backend_tests!(
    mediations_round_trip_without_clear_phones,
    revisits_schedule_once_and_list_due_with_counts,
    found_items_keep_personal_data_apart_and_queue_lookups,
    lost_reports_and_matches,
);
