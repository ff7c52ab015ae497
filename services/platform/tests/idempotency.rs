//! Idempotent requests on both backends: a repeated request id returns the first response with
//! one effect, even when the repeats race; other content under the same id is refused naming
//! `request_id`; a failed attempt records nothing.

mod common;

use std::sync::Arc;

use chrono::Utc;
use common::events::MIGRATIONS;
use pingan_platform::clock::SystemClock;
use pingan_platform::idempotency::RequestLog;
use pingan_platform::storage::Backend;
use pingan_platform::testing::TestDatabase;
use pingan_platform::{ApiError, Db, with_db, with_tx};
use pingan_proto::common::v1::Actor;

const SEED: &str = "INSERT INTO probe_records (id, name, active, payload, hits, recorded_at) \
                    VALUES ('counter', 'counter', TRUE, $1, 0, $2)";
const BUMP: &str = "UPDATE probe_records SET hits = hits + 1 WHERE id = 'counter'";
const HITS: &str = "SELECT hits FROM probe_records WHERE id = 'counter'";

async fn hits(db: &Db) -> i64 {
    with_db!(db, pool => sqlx::query_scalar::<_, i64>(HITS).fetch_one(pool).await).expect("hits")
}

fn request(subject: &str) -> Actor {
    Actor {
        subject: subject.to_owned(),
        role: "dispatcher".to_owned(),
        ..Actor::default()
    }
}

async fn bump(log: &RequestLog, request_id: &str, body: &Actor) -> Result<Actor, ApiError> {
    let answer = format!("done:{}", body.subject);
    log.run("Bump", request_id, body, async |tx| {
        with_tx!(tx, conn => sqlx::query(BUMP).execute(&mut *conn).await.map(|r| r.rows_affected()))
            .map_err(ApiError::internal)?;
        Ok(Actor {
            subject: answer,
            ..Actor::default()
        })
    })
    .await
}

async fn repeated_request_ids_have_one_effect(backend: Backend) {
    let test_db = TestDatabase::create(backend, &MIGRATIONS)
        .await
        .expect("db");
    let db = test_db.db.clone();
    with_db!(&db, pool => sqlx::query(SEED).bind(vec![0_u8]).bind(Utc::now()).execute(pool).await.map(|r| r.rows_affected()))
        .expect("seed");
    let log = RequestLog::new(db.clone(), Arc::new(SystemClock));

    let first = bump(&log, "req-1", &request("a")).await.expect("first");
    let again = bump(&log, "req-1", &request("a")).await.expect("repeat");
    assert_eq!(first, again);
    assert_eq!(hits(&db).await, 1);

    // Same id, other content: refused, naming request_id, and nothing changes.
    let refused = bump(&log, "req-1", &request("b"))
        .await
        .expect_err("other content");
    match refused {
        ApiError::InvalidArgument(violations) => {
            assert_eq!(violations.fields().collect::<Vec<_>>(), ["request_id"]);
        }
        other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
    }
    assert_eq!(hits(&db).await, 1);

    // No request id at all.
    assert!(matches!(
        bump(&log, " ", &request("a")).await,
        Err(ApiError::InvalidArgument(_))
    ));

    // Repeats racing each other: one effect, one answer.
    let racers: Vec<_> = (0..6)
        .map(|_| {
            let log = log.clone();
            tokio::spawn(async move { bump(&log, "req-race", &request("r")).await })
        })
        .collect();
    for racer in racers {
        let answer = racer.await.expect("task").expect("racer succeeds");
        assert_eq!(answer.subject, "done:r");
    }
    assert_eq!(hits(&db).await, 2);

    // A failed attempt records nothing: the same id may be retried.
    let failed = log
        .run(
            "Fail",
            "req-2",
            &request("x"),
            async |_tx| -> Result<Actor, ApiError> {
                Err(ApiError::Unavailable("grid-registry down".into()))
            },
        )
        .await;
    assert!(matches!(failed, Err(ApiError::Unavailable(_))));
    let retried = bump(&log, "req-2", &request("x")).await;
    assert!(retried.is_ok(), "{retried:?}");
    assert_eq!(hits(&db).await, 3);
    test_db.cleanup().await;
}

pingan_platform::backend_tests!(repeated_request_ids_have_one_effect);
