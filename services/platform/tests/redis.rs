//! Redis round trip on the test server: plain keys and the GEO commands live positions use,
//! under a per-test key prefix that cleanup removes.

use pingan_platform::testing::{cleanup_redis, test_redis};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_round_trip_with_prefix_and_geo() {
    let store = test_redis().await.expect("test redis");
    let mut connection = store.connection();

    let key = store.key("unit:u-1:status");
    assert!(key.starts_with(store.prefix()));
    let () = redis::cmd("SET")
        .arg(&key)
        .arg("AVAILABLE")
        .query_async(&mut connection)
        .await
        .expect("set");
    let value: String = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut connection)
        .await
        .expect("get");
    assert_eq!(value, "AVAILABLE");

    // GEOADD takes lon, lat; GEOSEARCH answers nearest first within the radius.
    let geo = store.key("units:geo");
    let added: i64 = redis::cmd("GEOADD")
        .arg(&geo)
        .arg(88.860)
        .arg(29.250)
        .arg("near")
        .arg(88.880)
        .arg(29.260)
        .arg("farther")
        .arg(92.140)
        .arg(29.240)
        .arg("other-county")
        .query_async(&mut connection)
        .await
        .expect("geoadd");
    assert_eq!(added, 3);
    let found: Vec<String> = redis::cmd("GEOSEARCH")
        .arg(&geo)
        .arg("FROMLONLAT")
        .arg(88.861)
        .arg(29.251)
        .arg("BYRADIUS")
        .arg(5)
        .arg("km")
        .arg("ASC")
        .query_async(&mut connection)
        .await
        .expect("geosearch");
    assert_eq!(found, ["near", "farther"]);

    cleanup_redis(&store).await;
    let left: Option<String> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut connection)
        .await
        .expect("get after cleanup");
    assert_eq!(left, None);
}
