//! ImportIncident on its own (issue 15), through gRPC on both backends, into a bureau running
//! intake alone: a burst of identical imports makes one incident; a document with the caller's
//! number in clear is sealed with this bureau's keys (shown in clear only to the roles that may
//! read it); bad documents are refused naming the JSON path of the first bad field, and nothing
//! is written.

mod exchange_support;

use exchange_support::*;
use futures::future::join_all;
use pingan_intake::store::exchange::ExchangeStore;
use pingan_platform::auth::Role;
use pingan_proto::intake::v1::GetIncidentRequest;
use pingan_tests::{Service, TestBackend, TestCluster, backend_tests};
use serde_json::json;

backend_tests!(
    a_burst_of_identical_imports_makes_one_incident,
    malformed_documents_are_refused_with_the_path_of_the_bad_field,
);

async fn a_burst_of_identical_imports_makes_one_incident(backend: TestBackend) {
    let cluster = TestCluster::start(backend, &[Service::Intake])
        .await
        .expect("cluster");
    let document = handmade("bureau-a", "inc-a-burst");
    assert_schema_valid(&document);
    let text = document.to_string();
    // Twelve imports at once: six request ids, each sent twice.
    let answers = join_all((0..12).map(|n| {
        let mut client = exchange(&cluster, "command-b", &[Role::CommandCenter]);
        let text = text.clone();
        async move { import(&mut client, &format!("burst-{}", n % 6), &text).await }
    }))
    .await;
    let ids: std::collections::BTreeSet<String> = answers
        .into_iter()
        .map(|answer| answer.expect("import").incident_id)
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let id = ids.into_iter().next().expect("an incident");

    let mut room = intake(
        &cluster,
        "command-b",
        &[Role::CommandCenter, Role::Dispatcher],
        &[],
    );
    let all = listed(&mut room).await;
    assert_eq!(all.len(), 1, "{all:#?}");
    let links = ExchangeStore::new(cluster.context(Service::Intake).expect("context").db);
    assert_eq!(
        links
            .count_of_source("bureau-a", "inc-a-burst")
            .await
            .expect("count"),
        1
    );

    // The clear number came sealed: a dispatcher reads it, a station officer only masked.
    let incident = room
        .get_incident(GetIncidentRequest {
            incident_id: id.clone(),
            ..Default::default()
        })
        .await
        .expect("get")
        .into_inner()
        .incident
        .expect("incident");
    assert_eq!(incident.calls[0].caller_phone, "13912345678");
    assert_eq!(incident.calls[0].caller_phone_masked, "139****5678");
    let link = incident.exchange_link.expect("link");
    assert_eq!(
        (
            link.source_bureau_id.as_str(),
            link.source_incident_id.as_str()
        ),
        ("bureau-a", "inc-a-burst")
    );
    let mut officer = intake(&cluster, "command-2", &[Role::CommandCenter], &[]);
    let masked = officer
        .get_incident(GetIncidentRequest {
            incident_id: id.clone(),
            ..Default::default()
        })
        .await
        .expect("get")
        .into_inner()
        .incident
        .expect("incident");
    assert_eq!(masked.calls[0].caller_phone, "");
    // Re-exported here, masked for the command center: no clear number leaves.
    let mut export_client = exchange(&cluster, "command-2", &[Role::CommandCenter]);
    let (response, exported) = export(&mut export_client, &id).await;
    assert_schema_valid(&exported);
    assert!(!response.document.contains("13912345678"));
    assert_eq!(exported["incident"]["source_link"]["bureau_id"], "bureau-a");

    // Each request id of the burst (those that lost the race to the link too) is spent: with
    // another document it is refused, naming request_id.
    let mut other = handmade("bureau-a", "inc-a-other");
    other["incident"]["description"] = json!("另一起事件");
    let mut client = exchange(&cluster, "command-b", &[Role::CommandCenter]);
    for n in 0..6 {
        let refused = import(&mut client, &format!("burst-{n}"), &other.to_string())
            .await
            .expect_err("request id reused");
        assert_eq!(first_bad_field(&refused), "request_id", "burst-{n}");
    }
    // A role that may not import is refused.
    let mut village = exchange(&cluster, "v-1", &[Role::VillageOfficer]);
    let denied = import(&mut village, "v-import", &text)
        .await
        .expect_err("not an importer");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);

    cluster.shutdown().await.expect("shutdown");
}

async fn malformed_documents_are_refused_with_the_path_of_the_bad_field(backend: TestBackend) {
    let cluster = TestCluster::start(backend, &[Service::Intake])
        .await
        .expect("cluster");
    let mut client = exchange(&cluster, "command-b", &[Role::CommandCenter]);
    let good = handmade("bureau-a", "inc-a-bad");

    let mut cases: Vec<(String, String)> = Vec::new();
    let mut case = |path: &str, change: &dyn Fn(&mut serde_json::Value)| {
        let mut document = good.clone();
        change(&mut document);
        cases.push((path.to_owned(), document.to_string()));
    };
    case("document.calls[0].received_at", &|d| {
        d["calls"][0]["received_at"] = json!("yesterday")
    });
    case("document.locations[0].point.lat", &|d| {
        d["locations"][0]["point"]["lat"] = json!(95.5)
    });
    case("document.incident.status", &|d| {
        d["incident"]["status"] = json!("LOST")
    });
    case("document.incident.description", &|d| {
        if let Some(o) = d["incident"].as_object_mut() {
            o.remove("description");
        }
    });
    case("document.incident.priority", &|d| {
        d["incident"]["priority"] = json!("P1")
    });
    case("document.schema_version", &|d| {
        d["schema_version"] = json!("9.9")
    });
    case("document.incident.classification.category", &|d| {
        d["incident"]["classification"]["category"] = json!("NOT_A_CATEGORY")
    });
    case("document.incident.location_ref", &|d| {
        d["incident"]["location_ref"] = json!("loc-x")
    });
    case("document.calls", &|d| d["calls"] = json!([]));
    case("document.calls[0].caller.phone", &|d| {
        d["phone_numbers"] = json!("masked")
    });
    case("document.units[0].distance_m", &|d| {
        d["units"][0]["distance_m"] = json!(-1.0)
    });
    case("document", &|d| *d = json!(["not", "an", "object"]));
    cases.push(("document".into(), "{ not json".into()));

    for (n, (path, document)) in cases.iter().enumerate() {
        let refused = import(&mut client, &format!("bad-{n}"), document)
            .await
            .expect_err(path);
        assert_eq!(&first_bad_field(&refused), path, "{}", refused.message());
        // Where the schema can say it, it agrees that the document is bad.
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(document)
            && !path.contains("category")
            && !path.contains("location_ref")
            && !path.ends_with("caller.phone")
        {
            assert!(
                !schema_violations(&value).is_empty(),
                "the schema accepts {path}"
            );
        }
    }
    let mut room = intake(&cluster, "command-b", &[Role::CommandCenter], &[]);
    assert!(
        listed(&mut room).await.is_empty(),
        "a refused document wrote something"
    );

    // The good one still goes in.
    let imported = import(&mut client, "good", &good.to_string())
        .await
        .expect("import");
    assert_eq!(listed(&mut room).await.len(), 1);
    assert!(!imported.incident_id.is_empty());
    cluster.shutdown().await.expect("shutdown");
}
