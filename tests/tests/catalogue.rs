//! One incident vocabulary across the REAL services, on SQLite and on Postgres + Redis: triage
//! serves the category catalogue, every category triage can emit is accepted by dispatch and
//! carried by intake from a call to its dispatch, and every capability a response needs exists
//! on some unit of the demo jurisdiction.

mod dispatch_support;
mod stories_support;

use std::collections::BTreeSet;

use pingan_catalogue::{Catalogue, CategoryCode, UnitKind};
use pingan_platform::auth::Role;
use pingan_proto::common::v1::Priority;
use pingan_proto::dispatch::v1 as dpb;
use pingan_proto::triage::v1 as tpb;
use pingan_tests::{TestBackend, backend_tests};
use pingan_triage::domain::rules::CompiledRules;
use stories_support::*;
use tonic::Code;

use dispatch_support::{command_center, jurisdiction, offset, open_request};

backend_tests!(
    triage_serves_the_catalogue_it_classifies_with,
    every_category_triage_can_emit_goes_through_intake_and_dispatch,
);

fn catalogue() -> &'static Catalogue {
    pingan_catalogue::catalogue().expect("the shipped catalogue")
}

/// Every category the shipped rules can answer: those of the category rules and situations,
/// and the fallback (a danger override falls back to a rule's police category or to it).
fn emittable(rules: &CompiledRules) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = rules
        .rules
        .iter()
        .map(|r| rules.categories[r.category].code.clone())
        .collect();
    out.extend(
        rules
            .situations
            .iter()
            .filter_map(|s| s.category.map(|(c, _)| rules.categories[c].code.clone())),
    );
    out.insert(rules.categories[rules.fallback.0].code.clone());
    out
}

/// The demo units of shared/data/jurisdiction.json as (kind, capabilities).
fn demo_units() -> Vec<(UnitKind, BTreeSet<String>)> {
    units_of(&jurisdiction())
}

/// The units of the jurisdiction grid-registry ships for `pingan dev`.
fn registry_demo_units() -> Vec<(UnitKind, BTreeSet<String>)> {
    let text = include_str!("../../services/grid-registry/demo/jurisdiction.json");
    units_of(&serde_json::from_str(text).expect("demo jurisdiction"))
}

fn units_of(jurisdiction: &serde_json::Value) -> Vec<(UnitKind, BTreeSet<String>)> {
    jurisdiction["units"]
        .as_array()
        .expect("units")
        .iter()
        .map(|u| {
            let kind = u["kind"].as_str().expect("kind");
            let kind = UnitKind::parse_group(kind.trim_start_matches("UNIT_"))
                .and_then(|k| k.first().copied())
                .unwrap_or_else(|| panic!("unknown demo unit kind {kind}"));
            let caps = u["capabilities"]
                .as_array()
                .expect("capabilities")
                .iter()
                .map(|c| c.as_str().expect("capability").to_owned())
                .collect();
            (kind, caps)
        })
        .collect()
}

/// ListCategories is the catalogue; every category the rules can emit is in it; every
/// capability of the demo units is known and every requirement of every category and
/// situation can be met by some demo unit.
async fn triage_serves_the_catalogue_it_classifies_with(backend: TestBackend) {
    let stories = Stories::start(backend).await;
    let mut triage = stories.triage("110-platform", &[Role::CallIntegrator]);
    let listed = triage
        .list_categories(tpb::ListCategoriesRequest {})
        .await
        .expect("list categories")
        .into_inner();
    let c = catalogue();
    assert_eq!(listed.catalogue_version, c.version);
    let codes: Vec<&str> = listed.categories.iter().map(|x| x.code.as_str()).collect();
    let expected: Vec<&str> = c.categories.iter().map(|x| x.code.as_str()).collect();
    assert_eq!(codes, expected);
    for (served, own) in listed.categories.iter().zip(&c.categories) {
        assert_eq!(served.name, own.name);
        assert_eq!(served.department, own.department);
        assert_eq!(
            served.response,
            pingan_catalogue::proto::requirements(&own.response)
        );
    }
    let water = listed
        .situations
        .iter()
        .find(|s| s.code == "WATER")
        .expect("WATER situation");
    assert!(
        water
            .response
            .iter()
            .any(|r| r.kinds == [dpb::UnitKind::Drone as i32]
                && r.capabilities.contains(&"aerial_video".to_owned()))
    );

    let rules = CompiledRules::builtin().expect("shipped rules");
    let served: BTreeSet<String> = codes.iter().map(|c| (*c).to_owned()).collect();
    for category in emittable(&rules) {
        assert!(served.contains(&category), "{category} is not served");
    }

    let units = demo_units();
    let known: BTreeSet<&str> = listed
        .capabilities
        .iter()
        .map(|x| x.code.as_str())
        .collect();
    for (_, caps) in units.iter().chain(&registry_demo_units()) {
        for cap in caps {
            assert!(
                known.contains(cap.as_str()),
                "demo capability {cap} unknown"
            );
        }
    }
    for cap in c.needed_capabilities() {
        assert!(
            units.iter().any(|(_, caps)| caps.contains(cap.as_str())),
            "no demo unit has {cap}"
        );
    }
    let responses = c
        .categories
        .iter()
        .map(|x| (x.code.as_str(), &x.response))
        .chain(c.situations.iter().map(|s| (s.code.as_str(), &s.response)))
        .chain(std::iter::once(("default", &c.default_response)));
    for (what, response) in responses {
        for r in response {
            assert!(
                units.iter().any(|(kind, caps)| {
                    (r.kinds.is_empty() || r.kinds.contains(kind))
                        && r.capabilities.iter().all(|x| caps.contains(x.as_str()))
                }),
                "{what}: no demo unit meets {r:?}"
            );
        }
    }

    // Whoever may classify may list; others may not.
    let mut inspector = stories.triage("inspector-1", &[Role::Inspector]);
    let denied = inspector
        .list_categories(tpb::ListCategoriesRequest {})
        .await
        .expect_err("not a classifier");
    assert_eq!(denied.code(), Code::PermissionDenied);
    stories.shutdown().await;
}

/// Every category triage can emit: dispatch accepts OpenDispatch with it and derives the
/// catalogue's response; for the ones a unit attends, a 110 call whose words classify to it is
/// carried by intake into a dispatch of that category with triage's requirements.
async fn every_category_triage_can_emit_goes_through_intake_and_dispatch(backend: TestBackend) {
    let stories = Stories::start(backend).await;
    let mut command = command_center(&stories.cluster).await;
    let rules = CompiledRules::builtin().expect("shipped rules");
    let c = catalogue();
    let far = offset((scene().lat, scene().lon), 3_000.0, 3_000.0);

    for (i, category) in emittable(&rules).iter().enumerate() {
        let code = CategoryCode::parse(category).expect("in the catalogue");
        let mut request = open_request(&format!("inc-direct-{i}"), Priority::P3, far, STATION);
        request.category = category.clone();
        let dispatch = command
            .open_dispatch(request)
            .await
            .unwrap_or_else(|e| panic!("dispatch refused {category}: {e}"))
            .into_inner()
            .dispatch
            .expect("dispatch");
        assert_eq!(&dispatch.category, category);
        assert_eq!(
            dispatch.unit_requirements,
            pingan_catalogue::proto::requirements(&c.requirements(code, &[])),
            "{category}"
        );
    }

    let served = pingan_triage::rules_state::RulesState::load(None, chrono::Utc::now())
        .expect("shipped rules and model")
        .serving_model(pingan_triage::TriageConfig::default().classifier == "model");
    let mut call_taker = stories.call_taker();
    let mut room = stories.command_room();
    let mut carried = 0;
    for (i, category) in emittable(&rules).iter().enumerate() {
        let code = CategoryCode::parse(category).expect("in the catalogue");
        let own = c.category(code.as_str()).expect("category");
        if !own.kind.stays_with_police() {
            continue;
        }
        // A word of the category's own rules that the served classifier (the model under the
        // rules, the default) classifies to it on its own.
        let text = candidates(category)
            .into_iter()
            .find(|w| served.classify(w, "CHANNEL_110", "").category == *category)
            .unwrap_or_else(|| panic!("no word of {category} classifies to it"));
        // Calls 400 m apart, so none is linked to another as the same event.
        let mut call = call_110(&format!("cat-{i}"), &text);
        call.location = Some(offset(
            (scene().lat, scene().lon),
            (i / 4) as f64 * 400.0,
            (i % 4) as f64 * 400.0,
        ));
        let response = call_taker
            .report_call(call)
            .await
            .expect("report call")
            .into_inner();
        let classification = response.classification.clone().expect("classification");
        assert_eq!(&classification.category, category, "{text}");
        assert!(!response.dispatch_id.is_empty(), "{text}: {response:#?}");
        let incident = incident(&mut room, &response.incident_id).await;
        let stored = incident.classification.expect("stored classification");
        assert_eq!(&stored.category, category);
        assert_eq!(stored.unit_requirements, classification.unit_requirements);
        let dispatch = wait_dispatch(&mut command, &response.dispatch_id, "exists", |_| true).await;
        assert_eq!(&dispatch.category, category, "{text}");
        assert_eq!(dispatch.incident_id, response.incident_id);
        assert!(!classification.unit_requirements.is_empty(), "{text}");
        assert_eq!(
            dispatch.unit_requirements, classification.unit_requirements,
            "{text}"
        );
        carried += 1;
    }
    // Every category a unit attends was reached from a call.
    let attended = c
        .categories
        .iter()
        .filter(|x| x.kind.stays_with_police())
        .count();
    assert_eq!(carried, attended);
    stories.shutdown().await;
}

/// Short texts made of the words of `category`'s rules in the shipped rules file.
fn candidates(category: &str) -> Vec<String> {
    let file: serde_json::Value =
        serde_json::from_str(pingan_triage::domain::rules::DEFAULT_RULES).expect("rules json");
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|w| w.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for rule in file["rules"].as_array().expect("rules") {
        if rule["category"] != category {
            continue;
        }
        let with = strings(&rule["with"]);
        for word in strings(&rule["words"]) {
            match with.first() {
                None => out.extend([word.clone(), format!("有人{word}")]),
                Some(w) => out.extend([format!("{w}{word}"), format!("{word}{w}")]),
            }
        }
    }
    out
}
