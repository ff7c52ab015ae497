//! `pingan token` mints a random `jti` and `iat`; `pingan token revoke --file F --jti X |
//! --subject S` adds to the revocation file the services read (`--auth-revoked-file`), and the
//! token is then refused.

use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use pingan_platform::auth::{Authenticator, RevocationFile, Revocations};

const PINGAN: &str = env!("CARGO_BIN_EXE_pingan");
const SECRET: &str = "cli-token-secret-cli-token-secret-0123";

fn run(args: &[&str]) -> Output {
    Command::new(PINGAN)
        .args(args)
        .env_remove("PINGAN_AUTH_SECRET")
        .env_remove("PINGAN_AUTH_REVOKED_FILE")
        .env_remove("PINGAN_CONFIG")
        .output()
        .expect("run pingan")
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

fn mint(subject: &str) -> String {
    ok(run(&[
        "token",
        "--subject",
        subject,
        "--role",
        "dispatcher",
        "--auth-secret",
        SECRET,
    ]))
    .trim()
    .to_owned()
}

#[test]
fn a_minted_token_is_revoked_by_jti_then_by_subject() {
    let dir = std::env::temp_dir().join(pingan_platform::testing::unique_name("token-revoke"));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("revoked.json");
    let file_arg = file.to_str().expect("path");

    let plain = Authenticator::new(SECRET.as_bytes(), "pingan").expect("auth");
    let first = mint("officer-7");
    let claims = plain.verify(&first).expect("valid token");
    let jti = claims.jti.expect("a jti is minted");
    assert!(claims.iat > 0, "an iat is minted");

    // No file yet: created with the one entry.
    let said = ok(run(&["token", "revoke", "--file", file_arg, "--jti", &jti]));
    assert!(said.contains("revoked token"), "{said}");
    assert_eq!(
        RevocationFile::read(&file).expect("file").jti,
        vec![jti.clone()]
    );
    let revocations = Arc::new(Revocations::load(&file, Duration::ZERO).expect("load"));
    let auth = Authenticator::new(SECRET.as_bytes(), "pingan")
        .expect("auth")
        .with_revocations(Some(revocations));
    assert!(auth.verify(&first).is_err(), "revoked jti");
    let second = mint("officer-7");
    assert!(auth.verify(&second).is_ok(), "another token");

    // The subject, from a second past: every token of it so far.
    std::thread::sleep(Duration::from_millis(1100));
    ok(run(&[
        "token",
        "revoke",
        "--file",
        file_arg,
        "--subject",
        "officer-7",
    ]));
    let list = RevocationFile::read(&file).expect("file");
    assert_eq!(list.jti, vec![jti], "earlier entries kept");
    assert_eq!(list.subjects.len(), 1);
    assert!(auth.verify(&second).is_err(), "revoked subject");
    assert!(auth.verify(&mint("officer-8")).is_ok(), "another subject");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name() != "revoked.json")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn revoke_needs_exactly_one_of_jti_and_subject() {
    let file = std::env::temp_dir().join(pingan_platform::testing::unique_name("revoke-usage"));
    let file_arg = file.to_str().expect("path");
    let neither = run(&["token", "revoke", "--file", file_arg]);
    assert_eq!(neither.status.code(), Some(2));
    let both = run(&[
        "token",
        "revoke",
        "--file",
        file_arg,
        "--jti",
        "x",
        "--subject",
        "y",
    ]);
    assert_eq!(both.status.code(), Some(2));
    assert!(!file.exists(), "nothing written on a usage error");
    // Minting still needs the secret.
    let no_secret = run(&["token", "--subject", "x", "--role", "admin"]);
    assert_eq!(no_secret.status.code(), Some(2));
}
