//! The wiring has one source of truth: the routing table and the direct-call table of
//! `pingan::routing`. These tests hold the chart's copy and the services' code to it, and prove
//! that `pingan serve` refuses to start without a peer it must reach.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use pingan::routing::DIRECT_CALLS;
use pingan::wiring;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_charts_copy_of_the_wiring_is_the_binarys() {
    let file = repo_root().join("helm/pingan/files/wiring.json");
    let committed = std::fs::read_to_string(&file).expect("helm/pingan/files/wiring.json");
    assert_eq!(
        committed,
        wiring::to_json(&wiring::wiring(&[])),
        "helm/pingan/files/wiring.json is stale: run helm/check.sh --update"
    );
}

/// The peer names a crate's code calls (`.channel("x")`, `const PEER: &str = "x"`).
fn peers_called_in(dir: &Path, found: &mut BTreeSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            peers_called_in(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for marker in [".channel(\"", "PEER: &str = \""] {
                for (at, _) in text.match_indices(marker) {
                    let rest = &text[at + marker.len()..];
                    if let Some(end) = rest.find('"') {
                        found.insert(rest[..end].to_owned());
                    }
                }
            }
        }
    }
}

#[test]
fn the_direct_call_table_is_what_each_service_calls() {
    let crates = BTreeMap::from([
        ("intake", "intake"),
        ("triage", "triage"),
        ("dispatch", "dispatch"),
        ("grid-registry", "grid-registry"),
        ("case-followup", "case-followup"),
        ("complaints-audit", "complaints-audit"),
    ]);
    for (service, dir) in crates {
        let mut called = BTreeSet::new();
        peers_called_in(
            &repo_root().join("services").join(dir).join("src"),
            &mut called,
        );
        let table: BTreeSet<String> = DIRECT_CALLS
            .iter()
            .find(|(caller, _)| *caller == service)
            .map(|(_, peers)| peers.iter().map(|p| (*p).to_owned()).collect())
            .unwrap_or_default();
        assert_eq!(
            called, table,
            "{service}: the peers its code calls vs routing::DIRECT_CALLS"
        );
    }
}

#[tokio::test]
async fn serve_refuses_to_start_naming_each_missing_peer() {
    let data = std::env::temp_dir().join(format!("pingan-wiring-{}", std::process::id()));
    std::fs::create_dir_all(&data).expect("temp dir");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_pingan"))
        .args([
            "serve",
            "dispatch",
            "--listen",
            "127.0.0.1:0",
            "--peer",
            "grid-registry=http://127.0.0.1:1",
            "--peer",
            "complaints-audit=http://127.0.0.1:1",
        ])
        .env(
            "PINGAN_DATABASE_URL",
            format!("sqlite://{}", data.join("dispatch.db").display()),
        )
        .env("PINGAN_AUTH_SECRET", "0123456789abcdef0123456789abcdef")
        .env("PINGAN_PII_KEY", "0123456789abcdef0123456789abcdef")
        .env_remove("PINGAN_PEERS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("pingan starts");
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("pingan serve stops by itself")
        .expect("output");
    let _ = std::fs::remove_dir_all(&data);
    assert!(!output.status.success(), "it must not start");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("missing peer case-followup"), "{text}");
    assert!(text.contains("missing peer intake"), "{text}");
    assert!(text.contains("pingan.dispatch.v1.DispatchClosed"), "{text}");
    assert!(!text.contains("missing peer grid-registry"), "{text}");
}
