//! The roles × stations columns of the matrix. For every declared RPC:
//! - every role the policy does not allow, at station A: PERMISSION_DENIED;
//! - every allowed role at station B (a device: the unit of station B) against station A's
//!   record: the declared refusal (PERMISSION_DENIED, NOT_FOUND, or an answer with nothing of
//!   station A), unless the role is declared bureau-wide for that RPC;
//! - every allowed role at station A: past authorization (neither UNAUTHENTICATED nor
//!   PERMISSION_DENIED; INVALID_ARGUMENT or FAILED_PRECONDITION still show it passed).
//!
//! Refusals run first: they change nothing, so every refused call meets the fixtures intact.

use pingan_platform::auth::Role;
use pingan_tests::{Service, TestBackend, TestCluster, Topology};
use tonic::Code;

use super::fixtures::{self, OFFICER_A, OFFICER_B, STATION_A, STATION_B, UNIT_A, UNIT_B};
use super::policy::{POLICY, ROLES, Refusal, Rpc, Scope};
use super::{call, requests, rpcs};

/// Which station a token acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    A,
    B,
}

/// A token of `role` at `at` for calling `rpc`: a device speaks for a unit of that station,
/// village officers and grid workers are that station's officers, a service is one that makes
/// the call.
fn token(cluster: &TestCluster, rpc: &Rpc, role: Role, at: At) -> String {
    let (station, officer, unit) = match at {
        At::A => (STATION_A, OFFICER_A, UNIT_A),
        At::B => (STATION_B, OFFICER_B, UNIT_B),
    };
    let subject = match role {
        Role::Device => format!("unit:{unit}"),
        Role::VillageOfficer | Role::GridWorker => officer.to_owned(),
        Role::Service => rpc.calling_service().to_owned(),
        other => format!("matrix-{}-{station}", other.as_str()),
    };
    let stations: &[&str] = if role == Role::Device {
        &[]
    } else {
        &[station]
    };
    cluster.token(&subject, &[role], stations).expect("token")
}

/// Runs the three columns and fails with every call that answered otherwise than declared.
pub async fn run(backend: TestBackend) {
    let cluster = TestCluster::start_with(backend, &Service::ALL, Topology::SharedPort)
        .await
        .expect("cluster");
    let fx = fixtures::make(&cluster).await;
    let channel = cluster.channel(Service::Intake).expect("channel");
    let shapes: std::collections::BTreeMap<String, (bool, bool)> = rpcs()
        .into_iter()
        .map(|(service, method, c, s)| (format!("/{service}/{method}"), (c, s)))
        .collect();
    let mut n = 0usize;
    let mut wrong: Vec<String> = Vec::new();
    let mut unauthorized = 0usize;
    let mut calls = 0usize;

    // Refusals: roles not allowed, and allowed roles at the other station.
    for rpc in POLICY {
        let path = rpc.path();
        let shape = shapes[&path];
        for role in ROLES {
            let (at, expected) = if !rpc.allows(role) {
                (At::A, Some(Refusal::Denied))
            } else if let Scope::Station { refusal, .. } = rpc.scope
                && role == Role::Device
                && !rpc.scope.for_unit()
            {
                // A device token covers no station: station A's records are another's.
                (At::A, Some(refusal))
            } else {
                match rpc.scope {
                    Scope::Station { refusal, .. } if !rpc.exempt(role) => (At::B, Some(refusal)),
                    _ => continue,
                }
            };
            n += 1;
            let message = requests::request(rpc.service, rpc.method, &fx, &format!("r{n}"));
            let answer = call(
                channel.clone(),
                &path,
                shape,
                message,
                Some(&token(&cluster, rpc, role, at)),
            )
            .await;
            calls += 1;
            let ok = match expected {
                Some(Refusal::Denied) => answer.code == Code::PermissionDenied,
                Some(Refusal::Hidden) => answer.code == Code::NotFound,
                Some(Refusal::Unknown) => {
                    answer.code == Code::InvalidArgument && answer.message.contains("unknown")
                }
                Some(Refusal::Filtered) => answer.code == Code::Ok && !leaks(&answer.body),
                None => true,
            };
            if answer.code == Code::Ok && expected != Some(Refusal::Filtered) {
                unauthorized += 1;
            }
            if !ok {
                wrong.push(describe(rpc, role, at, &format!("{expected:?}"), &answer));
            }
        }
    }

    // Allowed roles at their own station (and bureau-wide roles at the other) pass.
    for rpc in POLICY {
        let path = rpc.path();
        let shape = shapes[&path];
        for role in rpc.roles.iter().copied().filter(|role| rpc.allows(*role)) {
            if role == Role::Device
                && matches!(rpc.scope, Scope::Station { .. })
                && !rpc.scope.for_unit()
            {
                continue;
            }
            let mut stations = vec![At::A];
            if rpc.exempt(role) {
                stations.push(At::B);
            }
            for at in stations {
                n += 1;
                let message = requests::request(rpc.service, rpc.method, &fx, &format!("p{n}"));
                let answer = call(
                    channel.clone(),
                    &path,
                    shape,
                    message,
                    Some(&token(&cluster, rpc, role, at)),
                )
                .await;
                calls += 1;
                if matches!(answer.code, Code::Unauthenticated | Code::PermissionDenied) {
                    wrong.push(describe(rpc, role, at, "past authorization", &answer));
                }
                // A filtered list shows station A's records to station A: the filter hides them.
                let filtered = matches!(
                    rpc.scope,
                    Scope::Station {
                        refusal: Refusal::Filtered,
                        ..
                    }
                );
                if filtered && at == At::A && answer.code == Code::Ok && !leaks(&answer.body) {
                    wrong.push(describe(rpc, role, at, "station A's records", &answer));
                }
            }
        }
    }
    // A service that does not make a call is refused it, whatever its handler's role list says.
    for rpc in POLICY {
        let Some(other) = rpc.other_service() else {
            continue;
        };
        let path = rpc.path();
        n += 1;
        let message = requests::request(rpc.service, rpc.method, &fx, &format!("s{n}"));
        let token = cluster.token(other, &[Role::Service], &[]).expect("token");
        let answer = call(channel.clone(), &path, shapes[&path], message, Some(&token)).await;
        calls += 1;
        if answer.code == Code::Ok {
            unauthorized += 1;
        }
        if answer.code != Code::PermissionDenied {
            wrong.push(format!(
                "{path} as service {other}: expected PERMISSION_DENIED, got {:?} {}",
                answer.code, answer.message
            ));
        }
    }
    assert_eq!(unauthorized, 0, "unauthorized successes: {wrong:#?}");
    assert!(
        wrong.is_empty(),
        "{} of {calls} calls answered otherwise than docs/security-matrix.md says: {wrong:#?}",
        wrong.len()
    );
    assert!(calls > 1000, "only {calls} calls");
    cluster.shutdown().await.expect("shutdown");
}

/// True when an answer holds anything of station A.
fn leaks(body: &[u8]) -> bool {
    body.windows(STATION_A.len())
        .any(|window| window == STATION_A.as_bytes())
}

fn describe(rpc: &Rpc, role: Role, at: At, expected: &str, answer: &super::Answer) -> String {
    format!(
        "{} as {} at {at:?}: expected {expected}, got {:?} {}",
        rpc.path(),
        role.as_str(),
        answer.code,
        answer.message
    )
}
