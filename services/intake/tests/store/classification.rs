//! A classification with every field set reads back exactly, is replaced and cleared, and an
//! incident stored with the old protobuf blob is converted on start (once, even by two replicas
//! at a time; by an inbound event that locks it first) and reads back the same.

use std::borrow::Cow;

use pingan_intake::app::classification::{from_message, to_message};
use pingan_intake::app::upgrade::convert_legacy_rows;
use pingan_intake::domain::{RuleMatch, SituationMatch, UnitNeed};
use pingan_platform::storage::Migrations;
use pingan_platform::with_db;
use pingan_proto::common::v1::Priority;
use pingan_proto::dispatch::v1::UnitKind;
use pingan_proto::triage::v1::RuleEffect;
use prost::Message;
use sqlx::migrate::Migrator;

use super::*;

/// Every field set: two matched rules, a situation, two unit requirements.
fn full() -> ClassificationRecord {
    ClassificationRecord {
        kind: Kind::Joint,
        category: "RESCUE".into(),
        priority: Priority::P1,
        response_target_ms: Some(300_250),
        matched_rules: vec![
            RuleMatch {
                rule_id: "rescue.water".into(),
                category: "RESCUE".into(),
                matched_words: vec!["落水".into(), "河里".into()],
                effect: RuleEffect::Category,
                kind: Kind::Joint,
                priority: Priority::P2,
                negated_words: Vec::new(),
                explanation: "落水 -> RESCUE".into(),
            },
            RuleMatch {
                rule_id: "modifier.child".into(),
                category: String::new(),
                matched_words: vec!["孩子".into()],
                effect: RuleEffect::PriorityModifier,
                kind: Kind::Unspecified,
                priority: Priority::P1,
                negated_words: vec!["没有人受伤".into(), "没事".into()],
                explanation: "孩子 -> P1".into(),
            },
        ],
        department: "应急管理局".into(),
        category_name: "救援".into(),
        rules_version: "rules-2026.11".into(),
        needs_confirmation: true,
        situations: vec![SituationMatch {
            code: "WATER".into(),
            name: "落水救援".into(),
            matched_words: vec!["落水".into()],
        }],
        unit_requirements: vec![
            UnitNeed {
                kinds: vec![UnitKind::Drone],
                capabilities: vec!["aerial_video".into(), "water_rescue_search".into()],
                count: 1,
            },
            UnitNeed {
                kinds: vec![UnitKind::PatrolCar, UnitKind::Officer],
                capabilities: Vec::new(),
                count: 2,
            },
        ],
        catalogue_version: "catalogue-7".into(),
    }
}

async fn every_field_round_trips(backend: Backend) {
    let (database, store) = fresh(backend).await;
    let mut classified = incident("inc-1", 0, "s-1");
    classified.classification = Some(full());
    let mut other = incident("inc-2", 1, "s-1");
    other.classification = None;
    insert(&store, &database, &[classified.clone(), other.clone()]).await;
    assert_eq!(
        store.incident_exact("inc-1").await.expect("read"),
        Some(classified.clone())
    );
    assert_eq!(
        store.incident_exact("inc-2").await.expect("read"),
        Some(other.clone())
    );
    let listed = first_ten(&store).await;
    assert_eq!(listed, vec![other.clone(), classified.clone()]);
    // The message the answers carry is the one triage gave.
    assert_eq!(from_message(&to_message(&full())), full());

    // Replaced by a smaller one (no rows left over), then on the other incident, then cleared.
    let mut smaller = full();
    smaller.matched_rules.truncate(1);
    smaller.matched_rules[0].matched_words.truncate(1);
    smaller.unit_requirements.clear();
    smaller.response_target_ms = None;
    let mut tx = database.db.begin_write().await.expect("tx");
    let mut locked = store
        .lock_incident(&mut tx, "inc-1")
        .await
        .expect("lock")
        .expect("found");
    assert_eq!(locked.classification, Some(full()));
    store
        .set_classification(&mut tx, "inc-1", Some(&smaller))
        .await
        .expect("replace");
    store
        .set_classification(&mut tx, "inc-2", Some(&full()))
        .await
        .expect("set");
    locked.status = IncidentStatus::Dispatched as i32;
    locked.classification = None;
    store.save_incident(&mut tx, &locked).await.expect("save");
    tx.commit().await.expect("commit");
    let read = store.incident_exact("inc-1").await.expect("read");
    assert_eq!(read.and_then(|i| i.classification), Some(smaller.clone()));
    let read = store.incident_exact("inc-2").await.expect("read");
    assert_eq!(read.and_then(|i| i.classification), Some(full()));
    // Two classified incidents read together: each gets its own lists, in order.
    let listed = first_ten(&store).await;
    let classifications: Vec<_> = listed.into_iter().map(|i| i.classification).collect();
    assert_eq!(classifications, vec![Some(full()), Some(smaller.clone())]);

    let mut tx = database.db.begin_write().await.expect("tx");
    store
        .set_classification(&mut tx, "inc-1", None)
        .await
        .expect("clear");
    tx.commit().await.expect("commit");
    let read = store.incident_exact("inc-1").await.expect("read");
    assert_eq!(read.and_then(|i| i.classification), None);
    database.cleanup().await;
}

/// Intake's migrations up to and including `version`.
fn migrations_until(version: i64) -> Migrations {
    let cut = |m: &Migrator| -> &'static Migrator {
        let kept: Vec<_> = m
            .migrations
            .iter()
            .filter(|m| m.version <= version)
            .cloned()
            .collect();
        Box::leak(Box::new(Migrator {
            migrations: Cow::Owned(kept),
            ignore_missing: m.ignore_missing,
            locking: m.locking,
            no_tx: m.no_tx,
            table_name: m.table_name.clone(),
            create_schemas: m.create_schemas.clone(),
        }))
    };
    Migrations {
        postgres: cut(MIGRATIONS.postgres),
        sqlite: cut(MIGRATIONS.sqlite),
    }
}

/// An incident as the 0002 layout stored it, its classification an encoded protobuf.
async fn insert_old_row(db: &pingan_platform::Db, id: &str, blob: Option<Vec<u8>>) {
    const SQL: &str = "INSERT INTO intake_incidents (incident_id, status, channel, description, \
        has_location, lat, lon, address, classification, kind, category, priority, \
        routing_pending, received_at, classified_at, created_at, updated_at) \
        VALUES ($1, 2, 1, '有人落水', TRUE, 29.65, 91.13, '', $2, 3, 'RESCUE', 1, TRUE, \
        $3, $3, $3, $3)";
    with_db!(db, pool => sqlx::query(SQL).bind(id).bind(blob.clone()).bind(at(0))
        .execute(pool).await.map(|_| ()))
    .expect("old row");
}

async fn an_old_blob_is_converted_on_start(backend: Backend) {
    let database = TestDatabase::create(backend, &migrations_until(2))
        .await
        .expect("test database");
    let db = &database.db;
    let message = to_message(&full());
    insert_old_row(db, "inc-old", Some(message.encode_to_vec())).await;
    insert_old_row(db, "inc-bad", Some(vec![0xff, 0xff, 0xff])).await;
    insert_old_row(db, "inc-new", None).await;

    for n in 0..10 {
        insert_old_row(db, &format!("inc-old-{n}"), Some(message.encode_to_vec())).await;
    }

    db.migrate(&MIGRATIONS).await.expect("upgrade to columns");
    let store = SqlStore::new(db.clone());
    // Two replicas starting at once: each row is converted exactly once.
    let other = SqlStore::new(db.clone());
    let (a, b) = tokio::join!(
        convert_legacy_rows(db, &store),
        convert_legacy_rows(db, &other)
    );
    assert_eq!(a.expect("convert") + b.expect("convert"), 12);
    assert_eq!(
        convert_legacy_rows(db, &store).await.expect("again"),
        0,
        "idempotent"
    );
    let old = store
        .incident_exact("inc-old")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(old.classification, Some(full()));
    assert_eq!(old.classification.as_ref().map(to_message), Some(message));
    assert_eq!(old.kind, Kind::Joint as i32);
    for n in 0..10 {
        let read = store
            .incident_exact(&format!("inc-old-{n}"))
            .await
            .expect("read")
            .expect("found");
        assert_eq!(read.classification, Some(full()), "inc-old-{n}");
    }
    // The old reads took an unreadable blob for no classification.
    for id in ["inc-bad", "inc-new"] {
        let read = store
            .incident_exact(id)
            .await
            .expect("read")
            .expect("found");
        assert_eq!(read.classification, None, "{id}");
    }
    let left: i64 = with_db!(db, pool => sqlx::query_scalar(
        "SELECT COUNT(*) FROM intake_incidents WHERE classification IS NOT NULL")
        .fetch_one(pool).await)
    .expect("count");
    assert_eq!(left, 0, "no blob left");
    database.cleanup().await;
}

backend_tests!(every_field_round_trips, an_old_blob_is_converted_on_start);

/// Intake's service context over `db` (no peers, a fixed clock).
fn context(db: &pingan_platform::Db) -> pingan_platform::ServiceContext {
    use std::sync::Arc;

    use pingan_platform::auth::Authenticator;
    use pingan_platform::clients::Peers;
    use pingan_platform::clock::{ManualClock, SharedClock};
    use pingan_platform::events::{Outbox, Subscriptions};
    use pingan_platform::idempotency::RequestLog;
    use pingan_platform::pii::PiiKeys;

    let clock: SharedClock = Arc::new(ManualClock::new(at(60)));
    pingan_platform::ServiceContext {
        db: db.clone(),
        redis: None,
        peers: Peers::new(&std::collections::BTreeMap::new(), None).expect("peers"),
        auth: Authenticator::new(b"test-secret-test-secret-test-secret", "pingan-test")
            .expect("auth"),
        pii: PiiKeys::random(),
        clock: clock.clone(),
        outbox: Outbox::new(
            "intake",
            db.clone(),
            Arc::new(Subscriptions::default()),
            clock.clone(),
        ),
        requests: RequestLog::new(db.clone(), clock),
    }
}

/// The service's own paths: an inbound event converts the incident it locks, and the start-up
/// step (what API calls and routing jobs wait for) converts the rest, once.
async fn the_service_converts_old_rows(backend: Backend) {
    use pingan_intake::app::{Deps, routing_job};
    use pingan_proto::dispatch::v1::SlaBreached;
    use pingan_proto::events::v1::EventEnvelope;

    let database = TestDatabase::create(backend, &migrations_until(2))
        .await
        .expect("test database");
    let db = &database.db;
    let message = to_message(&full());
    for id in ["inc-event", "inc-start"] {
        insert_old_row(db, id, Some(message.encode_to_vec())).await;
    }
    db.migrate(&MIGRATIONS).await.expect("upgrade to columns");
    let context = context(db);
    let store = SqlStore::new(db.clone());

    let breached = SlaBreached {
        dispatch_id: "d-1".into(),
        incident_id: "inc-event".into(),
        ..SlaBreached::default()
    };
    let event = EventEnvelope {
        event_id: "evt-1".into(),
        event_type: "pingan.dispatch.v1.SlaBreached".into(),
        source: "dispatch".into(),
        aggregate_id: "d-1".into(),
        sequence: 1,
        payload: Some(prost_types::Any {
            type_url: "type.googleapis.com/pingan.dispatch.v1.SlaBreached".into(),
            value: breached.encode_to_vec(),
        }),
        ..EventEnvelope::default()
    };
    let sink = pingan_intake::event_sink(&context);
    assert!(!sink.apply(&event).await.expect("apply"), "applied once");
    let read = store.incident_exact("inc-event").await.expect("read");
    let read = read.expect("found");
    assert!(read.response_target_breached);
    assert_eq!(read.classification, Some(full()), "converted by the event");

    let deps = Deps::new(
        &context,
        pingan_intake::IntakeSettings::default(),
        routing_job::queue(&context),
    );
    deps.ready().await.expect("ready");
    deps.ready().await.expect("ready again");
    let read = store.incident_exact("inc-start").await.expect("read");
    assert_eq!(read.and_then(|i| i.classification), Some(full()));
    assert_eq!(
        convert_legacy_rows(db, &store).await.expect("nothing left"),
        0
    );
    database.cleanup().await;
}

backend_tests!(the_service_converts_old_rows);
