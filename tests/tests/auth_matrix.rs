//! Every RPC of the six services (read from the descriptor set, so a new RPC is covered the day
//! it is added) × every kind of bad credential: no token, expired, signed with the wrong key,
//! for another audience, and signed by an identity-provider key the JWKS has since withdrawn.
//! Each must answer UNAUTHENTICATED — zero successes, zero other codes — on SQLite and on
//! Postgres + Redis. The identity provider's current key is accepted (the control).
//!
//! Then every RPC × every role at station A, and every allowed role at station B, against the
//! policy declared in `auth_matrix_support/policy.rs`: roles not declared are PERMISSION_DENIED,
//! declared roles pass authorization at their station and get the declared refusal at another.
//! A caller whose only role is `service` passes only the calls some service declares it makes
//! (`api/service_calls.rs` of each service), and another service is refused those too.
//! The declared policy is rendered into docs/security-matrix.md (checked here too).

mod auth_matrix_support;

use std::sync::Arc;
use std::time::Duration;

use pingan::Security;
use pingan_platform::auth::{
    Algorithm, AuthSettings, Authenticator, Claims, Jwks, Role, TokenIssuer, jwks_json,
};
use pingan_platform::pii::PiiKeys;
use pingan_tests::{ClusterOptions, Service, TestBackend, TestCluster, Topology, backend_tests};
use tonic::Code;

use auth_matrix_support::{call, rpcs};

backend_tests!(
    every_rpc_refuses_every_bad_credential,
    every_role_at_both_stations
);

/// Every RPC × every role × both stations, as the declared policy says (see the module).
async fn every_role_at_both_stations(backend: TestBackend) {
    auth_matrix_support::stations::run(backend).await;
}

const ISSUER: &str = "pingan-test";
const IDP: &str = "https://idp.bureau.example/realms/police";
const AUDIENCE: &str = "pingan";
const SECRET: &[u8] = b"matrix-token-secret-0123456789abcdef";

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../services/platform/tests/fixtures/jwt")
        .join(name);
    std::fs::read(path).expect("fixture")
}

fn provider(file: &str, kid: &str) -> TokenIssuer {
    TokenIssuer::from_der(Algorithm::RS256, &fixture(file), kid, IDP)
        .expect("provider key")
        .with_audience(Some(AUDIENCE))
}

fn write_jwks(path: &std::path::Path, issuers: &[&TokenIssuer]) {
    std::fs::write(path, jwks_json(issuers)).expect("write jwks");
}

async fn every_rpc_refuses_every_bad_credential(backend: TestBackend) {
    let dir = std::env::temp_dir().join(format!("pingan-matrix-{}", uuid_like()));
    std::fs::create_dir_all(&dir).expect("dir");
    let jwks_path = dir.join("jwks.json");
    let withdrawn = provider("rsa-a.der", "2026-11");
    let current = provider("rsa-b.der", "2026-12");
    write_jwks(&jwks_path, &[&withdrawn, &current]);
    let jwks = Arc::new(Jwks::load(&jwks_path, Duration::ZERO).expect("jwks"));
    let settings = AuthSettings {
        jwks_issuer: IDP.into(),
        audience: Some(AUDIENCE.into()),
        ..AuthSettings::new(ISSUER)
    };
    let security = Security {
        authenticator: Authenticator::with_settings(Some(SECRET), Some(jwks), settings)
            .expect("authenticator"),
        issuer: TokenIssuer::new(SECRET, ISSUER)
            .expect("issuer")
            .with_audience(Some(AUDIENCE)),
        pii: PiiKeys::random(),
    };
    let cluster = TestCluster::start_with_security(
        backend,
        &Service::ALL,
        Topology::SharedPort,
        pingan_platform::clock::system(),
        ClusterOptions::default(),
        pingan_tests::test_server_config(),
        security,
    )
    .await
    .expect("cluster");

    let admin = [Role::Admin, Role::CommandCenter, Role::Dispatcher];
    let own = TokenIssuer::new(SECRET, ISSUER)
        .expect("issuer")
        .with_audience(Some(AUDIENCE));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let expired = own
        .sign(&Claims {
            sub: "officer-1".into(),
            roles: admin.to_vec(),
            stations: vec![],
            iss: ISSUER.into(),
            aud: vec![AUDIENCE.into()],
            exp: now - 3600,
            iat: now - 7200,
            jti: None,
        })
        .expect("token");
    let ttl = Duration::from_secs(600);
    let wrong_key = TokenIssuer::new(b"not-the-bureau-secret-0123456789abcd", ISSUER)
        .expect("issuer")
        .with_audience(Some(AUDIENCE))
        .issue("officer-1", &admin, &[], ttl)
        .expect("token");
    let wrong_audience = TokenIssuer::new(SECRET, ISSUER)
        .expect("issuer")
        .with_audience(Some("another-system"))
        .issue("officer-1", &admin, &[], ttl)
        .expect("token");
    let rotated_out = withdrawn
        .issue("officer-1", &admin, &[], ttl)
        .expect("token");
    let provider_ok = current.issue("officer-1", &admin, &[], ttl).expect("token");

    // The provider rotates: the 2026-11 key is withdrawn from the JWKS.
    write_jwks(&jwks_path, &[&current]);

    let channel = cluster.channel(Service::Intake).expect("channel");
    let cases: [(&str, Option<&str>); 5] = [
        ("no token", None),
        ("expired", Some(&expired)),
        ("wrong key", Some(&wrong_key)),
        ("wrong audience", Some(&wrong_audience)),
        ("JWKS-rotated key", Some(&rotated_out)),
    ];
    let rpcs = rpcs();
    assert!(rpcs.len() >= 44, "only {} RPCs found", rpcs.len());
    let mut wrong = Vec::new();
    let mut successes = 0;
    for (service, method, client_streams, server_streams) in &rpcs {
        let path = format!("/{service}/{method}");
        for (case, token) in &cases {
            let code = call(
                channel.clone(),
                &path,
                (*client_streams, *server_streams),
                Vec::new(),
                *token,
            )
            .await
            .code;
            if code == Code::Ok {
                successes += 1;
            }
            if code != Code::Unauthenticated {
                wrong.push(format!("{path} with {case}: {code:?}"));
            }
        }
    }
    assert_eq!(successes, 0, "unauthorized successes: {wrong:#?}");
    assert!(
        wrong.is_empty(),
        "{} calls not UNAUTHENTICATED: {wrong:#?}",
        wrong.len()
    );

    // Control: the provider's current key gets past authentication on every RPC.
    let mut refused = Vec::new();
    for (service, method, client_streams, server_streams) in &rpcs {
        let path = format!("/{service}/{method}");
        let code = call(
            channel.clone(),
            &path,
            (*client_streams, *server_streams),
            Vec::new(),
            Some(&provider_ok),
        )
        .await
        .code;
        if code == Code::Unauthenticated {
            refused.push(path);
        }
    }
    assert!(
        refused.is_empty(),
        "current provider key refused on {refused:#?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}-{nanos}", std::process::id())
}

/// Every RPC the descriptor set names is declared exactly once, and nothing else is.
#[test]
fn policy_declares_every_rpc_once() {
    let served: std::collections::BTreeSet<String> = rpcs()
        .into_iter()
        .map(|(service, method, _, _)| format!("/{service}/{method}"))
        .collect();
    let declared: Vec<String> = auth_matrix_support::policy::POLICY
        .iter()
        .map(|rpc| rpc.path())
        .collect();
    let unique: std::collections::BTreeSet<String> = declared.iter().cloned().collect();
    assert_eq!(unique.len(), declared.len(), "an RPC is declared twice");
    let missing: Vec<&String> = served.difference(&unique).collect();
    let extra: Vec<&String> = unique.difference(&served).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "declare every served RPC in auth_matrix_support/policy.rs: missing {missing:#?}, not served {extra:#?}"
    );
}

/// docs/security-matrix.md is the rendered policy; `PINGAN_UPDATE_DOCS=1` rewrites it.
#[test]
fn security_matrix_doc_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/security-matrix.md");
    let rendered = auth_matrix_support::doc::render();
    if std::env::var("PINGAN_UPDATE_DOCS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &rendered).expect("write docs/security-matrix.md");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == rendered,
        "docs/security-matrix.md is out of date: run PINGAN_UPDATE_DOCS=1 cargo test -p pingan-tests --test auth_matrix security_matrix_doc"
    );
}

/// Every call a service declares is an RPC served, open to the `service` role by its handler,
/// and made by Pingan services (a declaration naming a typo or an unknown service is a call that
/// would be refused in production).
#[test]
fn every_declared_service_call_is_open_to_services() {
    use auth_matrix_support::policy::POLICY;
    use pingan_platform::auth::Callers;
    for call in pingan::routing::service_calls() {
        let path = call.path();
        let rpc = POLICY.iter().find(|rpc| rpc.path() == path);
        assert!(
            rpc.is_some_and(|rpc| rpc.roles.contains(&Role::Service)),
            "{path} is declared as a service call but its handler does not take role service"
        );
        if let Callers::Only(services) = call.callers {
            for service in services {
                assert!(
                    pingan::ServiceKind::ALL
                        .iter()
                        .any(|kind| kind.short_name() == *service),
                    "{path}: unknown service {service}"
                );
            }
        }
    }
}
