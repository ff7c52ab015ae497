//! Incident exchange between two bureaus (issue 15), through gRPC on both backends: bureau A runs
//! the real intake, grid-registry, triage and dispatch with the demo jurisdiction; bureau B runs
//! its own intake. An incident dispatched in A is exported (checked against the JSON Schema kept
//! in the repository, callers' numbers masked unless the reader may see them), imported into B
//! (through `pingan incidents export/import` too), read there through GetIncident and
//! ListIncidents linked back to A's incident, and imported again without a second incident.

mod dispatch_support;
mod exchange_support;
mod stories_support;

use exchange_support::*;
use pingan_intake::store::exchange::ExchangeStore;
use pingan_platform::auth::Role;
use pingan_proto::intake::v1::{IncidentStatus, Outcome};
use pingan_tests::{Service, TestBackend, TestCluster, backend_tests};
use stories_support::{NEAREST, Stories, call_110, scene};

backend_tests!(an_incident_exported_by_one_bureau_is_imported_by_another_linked_back);

async fn an_incident_exported_by_one_bureau_is_imported_by_another_linked_back(
    backend: TestBackend,
) {
    let a = Stories::start(backend).await;
    let b = TestCluster::start(backend, &[Service::Intake])
        .await
        .expect("bureau b");

    // Bureau A takes a call and dispatches the nearest officer.
    let dispatched = a
        .call_taker()
        .report_call(call_110("exchange-1", "桥下有人落水，请求救援"))
        .await
        .expect("report call")
        .into_inner();
    assert_eq!(dispatched.outcome(), Outcome::Dispatched, "{dispatched:#?}");
    let source_id = dispatched.incident_id.clone();

    // The command center's export: valid against the schema, numbers masked.
    let mut officer = exchange(&a.cluster, "command-2", &[Role::CommandCenter]);
    let (response, masked) = export(&mut officer, &source_id).await;
    assert_eq!(response.incident_id, source_id);
    assert_eq!(response.schema_version, "1.0");
    assert_schema_valid(&masked);
    assert_eq!(masked["phone_numbers"], "masked");
    assert!(
        !response.document.contains("13812345678"),
        "clear number in a masked export"
    );
    assert_eq!(masked["calls"][0]["caller"]["phone_masked"], "138****5678");
    assert!(masked["calls"][0]["caller"].get("phone").is_none());
    assert_eq!(masked["incident"]["incident_id"], source_id.as_str());
    assert_eq!(masked["incident"]["status"], "DISPATCHED");
    assert_eq!(masked["incident"]["classification"]["kind"], "POLICE");
    let place = &masked["locations"][0];
    assert_eq!(place["role"], "INCIDENT");
    assert!((place["point"]["lat"].as_f64().expect("lat") - scene().lat).abs() < 1e-9);
    // Units from dispatch, the timeline from intake, the owning and responsible agencies.
    let units = masked["units"].as_array().expect("units");
    assert!(units.iter().any(|u| u["unit_id"] == NEAREST && u["dispatch_id"] == dispatched.dispatch_id.as_str()), "{units:#?}");
    assert!(
        units
            .iter()
            .any(|u| u["callsign"].as_str().is_some_and(|c| !c.is_empty()))
    );
    let kinds: Vec<&str> = masked["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"CALL_RECEIVED") && kinds.contains(&"DISPATCH_OPENED"),
        "{kinds:?}"
    );
    let roles: Vec<&str> = masked["agencies"]
        .as_array()
        .expect("agencies")
        .iter()
        .filter_map(|a| a["role"].as_str())
        .collect();
    assert_eq!(roles, ["OWNING", "RESPONSIBLE"]);

    // A dispatcher may read numbers in clear: the export carries them, still schema-valid.
    let mut dispatcher = exchange(
        &a.cluster,
        "command-1",
        &[Role::CommandCenter, Role::Dispatcher],
    );
    let (_, clear) = export(&mut dispatcher, &source_id).await;
    assert_schema_valid(&clear);
    assert_eq!(clear["phone_numbers"], "clear");
    assert_eq!(clear["calls"][0]["caller"]["phone"], "13812345678");

    // A call diverted to 12345 exports its transfer.
    let diverted = a
        .call_taker()
        .report_call(call_110(
            "exchange-2",
            "我们小区从昨天开始停水了，到现在还没来水",
        ))
        .await
        .expect("report call")
        .into_inner();
    assert_eq!(
        diverted.outcome(),
        Outcome::DivertedTo12345,
        "{diverted:#?}"
    );
    let (_, with_transfer) = export(&mut officer, &diverted.incident_id).await;
    assert_schema_valid(&with_transfer);
    assert_eq!(
        with_transfer["transfers"][0]["transfer_id"],
        diverted.transfer_id.as_str()
    );
    assert_eq!(with_transfer["transfers"][0]["direction"], "TO_12345");

    // Bureau B imports the masked document: a new incident, linked back to A's.
    let mut b_room = exchange(&b, "command-b", &[Role::CommandCenter]);
    let imported = import(&mut b_room, "import-1", &response.document)
        .await
        .expect("import");
    assert_ne!(imported.incident_id, source_id);
    let link = imported.link.clone().expect("link");
    assert_eq!(link.source_incident_id, source_id);
    assert_eq!(
        link.source_bureau_id,
        masked["issuing_bureau"]["bureau_id"]
            .as_str()
            .expect("bureau")
    );
    assert_eq!(
        link.document_id,
        masked["document_id"].as_str().expect("document id")
    );
    assert_eq!(link.source_status, "INCIDENT_STATUS_DISPATCHED");

    // B reads it like any incident, with its link.
    let mut b_intake = intake(&b, "command-b", &[Role::CommandCenter], &[]);
    let seen = b_intake
        .get_incident(pingan_proto::intake::v1::GetIncidentRequest {
            incident_id: imported.incident_id.clone(),
            ..Default::default()
        })
        .await
        .expect("get imported incident")
        .into_inner()
        .incident
        .expect("incident");
    assert_eq!(seen.description, "桥下有人落水，请求救援");
    assert_eq!(
        seen.exchange_link
            .as_ref()
            .map(|l| l.source_incident_id.as_str()),
        Some(source_id.as_str())
    );
    let class = seen.classification.clone().expect("classification kept");
    assert_eq!(
        class.category,
        dispatched
            .classification
            .clone()
            .expect("a classification")
            .category
    );
    assert_eq!(seen.status(), IncidentStatus::Classified);
    assert_eq!(seen.calls.len(), 1);
    assert_eq!(seen.calls[0].caller_phone_masked, "138****5678");
    assert_eq!(
        seen.calls[0].caller_phone, "",
        "no clear number came with a masked document"
    );
    assert_eq!(
        seen.calls[0].source_call_id,
        format!(
            "{}/{}",
            link.source_bureau_id,
            masked["calls"][0]["call_id"].as_str().expect("call id")
        )
    );
    let location = seen.location.expect("location");
    assert!((location.lat - scene().lat).abs() < 1e-9 && (location.lon - scene().lon).abs() < 1e-9);
    let listed_b = listed(&mut b_intake).await;
    assert_eq!(listed_b.len(), 1, "{listed_b:#?}");
    assert_eq!(listed_b[0].incident_id, imported.incident_id);
    assert_eq!(
        listed_b[0]
            .exchange_link
            .as_ref()
            .map(|l| l.source_incident_id.as_str()),
        Some(source_id.as_str())
    );
    // A's own incidents carry no link.
    let mut a_intake = intake(&a.cluster, "command-a", &[Role::CommandCenter], &[]);
    assert!(
        listed(&mut a_intake)
            .await
            .iter()
            .all(|i| i.exchange_link.is_none())
    );

    // Importing again (same request, another request, another export of the same incident)
    // gives the same incident: one hand-over per source incident.
    let again = import(&mut b_room, "import-1", &response.document)
        .await
        .expect("repeat");
    assert_eq!(again.incident_id, imported.incident_id);
    let other = import(&mut b_room, "import-2", &response.document)
        .await
        .expect("other request");
    assert_eq!(other.incident_id, imported.incident_id);
    let clear_doc = serde_json::to_string(&clear).expect("json");
    let re_export = import(&mut b_room, "import-3", &clear_doc)
        .await
        .expect("another export");
    assert_eq!(re_export.incident_id, imported.incident_id);
    assert_eq!(listed(&mut b_intake).await.len(), 1);
    let links = ExchangeStore::new(b.context(Service::Intake).expect("context").db);
    assert_eq!(
        links
            .count_of_source(&link.source_bureau_id, &source_id)
            .await
            .expect("count"),
        1
    );

    // B's own export of the handed-over incident names where it came from.
    let (_, from_b) = export(&mut b_room, &imported.incident_id).await;
    assert_schema_valid(&from_b);
    assert_eq!(
        from_b["incident"]["source_link"]["incident_id"],
        source_id.as_str()
    );

    // The CLI: `pingan incidents export --out FILE` in A, `pingan incidents import --file FILE` in B.
    let dir = std::env::temp_dir().join(format!("pingan-exchange-{}", uuid_like()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("incident.json");
    let a_token = a
        .cluster
        .token("command-2", &[Role::CommandCenter], &[])
        .expect("token");
    let b_token = b
        .token("command-b", &[Role::CommandCenter], &[])
        .expect("token");
    pingan::exchange_cli::run(pingan::exchange_cli::IncidentsCommand::Export(
        pingan::exchange_cli::ExportArgs {
            client: pingan::admin_cli::ClientArgs {
                endpoint: a.cluster.endpoint(Service::Intake).expect("endpoint"),
                token: Some(a_token),
                tls: Default::default(),
            },
            incident: diverted.incident_id.clone(),
            out: Some(file.clone()),
            reason: String::new(),
        },
    ))
    .await
    .expect("cli export");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("file")).expect("json");
    assert_schema_valid(&written);
    pingan::exchange_cli::run(pingan::exchange_cli::IncidentsCommand::Import(
        pingan::exchange_cli::ImportArgs {
            client: pingan::admin_cli::ClientArgs {
                endpoint: b.endpoint(Service::Intake).expect("endpoint"),
                token: Some(b_token),
                tls: Default::default(),
            },
            file: file.clone(),
            request_id: None,
        },
    ))
    .await
    .expect("cli import");
    let both = listed(&mut b_intake).await;
    assert_eq!(both.len(), 2, "{both:#?}");
    assert!(both.iter().any(|i| {
        i.exchange_link
            .as_ref()
            .is_some_and(|l| l.source_incident_id == diverted.incident_id)
    }));
    let _ = std::fs::remove_dir_all(&dir);

    b.shutdown().await.expect("shutdown b");
    a.shutdown().await;
}

fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
    )
}
