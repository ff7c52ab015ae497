//! Token revocation (`--auth-revoked-file`): a listed `jti` is refused, a revoked subject's
//! tokens issued before `not_before` are refused and later ones accepted, the file is read
//! again when it changes (no restart), and a broken file keeps the previous list and says so in
//! the logs, never with token contents.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pingan_platform::auth::{
    Authenticator, Claims, RevocationFile, Revocations, Role, TokenIssuer,
};
use pingan_platform::error::ApiError;
use tonic::metadata::MetadataMap;

const SECRET: &[u8] = b"token-secret-token-secret-token-secret";

fn revoked_file(name: &str, list: &RevocationFile) -> PathBuf {
    let dir = std::env::temp_dir().join(pingan_platform::testing::unique_name(name));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("revoked.json");
    list.write_atomic(&path).expect("write");
    path
}

fn authenticator(path: &Path) -> Authenticator {
    let list = Revocations::load(path, Duration::ZERO).expect("revocations");
    Authenticator::new(SECRET, "pingan")
        .expect("auth")
        .with_revocations(Some(Arc::new(list)))
}

fn issuer() -> TokenIssuer {
    TokenIssuer::new(SECRET, "pingan").expect("issuer")
}

fn token(subject: &str) -> String {
    issuer()
        .issue(
            subject,
            &[Role::Dispatcher],
            &["st-1"],
            Duration::from_secs(300),
        )
        .expect("token")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn issued_at(subject: &str, iat: u64) -> String {
    issuer()
        .sign(&Claims {
            sub: subject.into(),
            roles: vec![Role::Dispatcher],
            stations: vec![],
            iss: "pingan".into(),
            aud: vec![],
            exp: now() + 300,
            iat,
            jti: None,
        })
        .expect("token")
}

/// Ok, or the UNAUTHENTICATED message.
fn check(auth: &Authenticator, token: &str) -> Result<(), String> {
    let mut metadata = MetadataMap::new();
    metadata.insert(
        "authorization",
        format!("Bearer {token}").parse().expect("metadata"),
    );
    match auth.authenticate(&metadata) {
        Ok(_) => Ok(()),
        Err(ApiError::Unauthenticated(message)) => Err(message),
        Err(other) => panic!("unexpected {other:?}"),
    }
}

#[test]
fn tokens_carry_a_random_jti_and_iat() {
    let auth = Authenticator::new(SECRET, "pingan").expect("auth");
    let first = auth.verify(&token("officer-7")).expect("claims");
    let second = auth.verify(&token("officer-7")).expect("claims");
    let jti = first.jti.clone().expect("jti");
    assert_eq!(jti.len(), 32);
    assert_ne!(first.jti, second.jti);
    assert!(first.iat >= now() - 5);
}

#[test]
fn a_revoked_jti_is_refused_and_picked_up_without_restart() {
    let path = revoked_file("revoked-jti", &RevocationFile::default());
    let auth = authenticator(&path);
    let stolen = token("officer-7");
    let other = token("officer-7");
    assert_eq!(check(&auth, &stolen), Ok(()));

    let jti = auth.verify(&stolen).expect("claims").jti.expect("jti");
    let mut list = RevocationFile::read_or_empty(&path).expect("read");
    assert!(list.revoke_jti(&jti));
    assert!(!list.revoke_jti(&jti), "listed once");
    list.write_atomic(&path).expect("write");

    let refused = check(&auth, &stolen).expect_err("revoked");
    assert!(refused.contains("revoked"), "{refused}");
    assert_eq!(check(&auth, &other), Ok(()), "another token of the subject");
}

#[test]
fn a_revoked_subject_loses_tokens_issued_before_not_before_only() {
    let at = now() - 60;
    let mut list = RevocationFile::default();
    list.revoke_subject("officer-7", at);
    list.revoke_subject("officer-7", at - 600);
    assert_eq!(list.subjects.len(), 1);
    assert_eq!(list.subjects[0].not_before, at, "a later time is kept");
    let auth = authenticator(&revoked_file("revoked-subject", &list));

    let refused = check(&auth, &issued_at("officer-7", at - 1)).expect_err("issued before");
    assert!(refused.contains("revoked"), "{refused}");
    assert!(check(&auth, &issued_at("officer-7", 0)).is_err(), "no iat");
    assert_eq!(
        check(&auth, &issued_at("officer-7", at)),
        Ok(()),
        "issued at"
    );
    assert_eq!(check(&auth, &token("officer-7")), Ok(()), "issued after");
    assert_eq!(
        check(&auth, &issued_at("officer-8", at - 1)),
        Ok(()),
        "another subject"
    );
}

/// Log lines written while `run` runs on this thread.
fn logs_of(run: impl FnOnce()) -> String {
    /// Where this thread's log lines go (each test thread reads only its own).
    struct ThreadBuffer;
    impl Write for ThreadBuffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            LINES.with(|lines| lines.borrow_mut().extend_from_slice(bytes));
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    thread_local! {
        static LINES: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    // One global subscriber for the binary: a scoped one raced other test threads over
    // tracing's callsite cache, and an `info!` went missing in CI.
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(|| ThreadBuffer)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
    LINES.with(|lines| lines.borrow_mut().clear());
    run();
    let bytes = LINES.with(|lines| std::mem::take(&mut *lines.borrow_mut()));
    String::from_utf8(bytes).expect("utf-8")
}

#[test]
fn a_broken_file_keeps_the_previous_list_and_logs() {
    let stolen = token("officer-7");
    let probe = Authenticator::new(SECRET, "pingan").expect("auth");
    let jti = probe.verify(&stolen).expect("claims").jti.expect("jti");
    let mut list = RevocationFile::default();
    list.revoke_jti(&jti);
    let path = revoked_file("revoked-broken", &list);
    let auth = authenticator(&path);

    let logs = logs_of(|| {
        assert!(check(&auth, &stolen).is_err());
        std::fs::write(&path, b"{\"jti\": [").expect("write");
        assert!(check(&auth, &stolen).is_err(), "previous list kept");
        std::fs::write(&path, b"null").expect("write");
        assert!(check(&auth, &stolen).is_err(), "previous list kept");
        std::fs::remove_file(&path).expect("remove");
        assert!(check(&auth, &stolen).is_err(), "previous list kept");
    });
    assert!(
        logs.contains("revocation list changed but cannot be read"),
        "{logs}"
    );
    assert!(logs.contains("revoked token refused"), "{logs}");
    assert!(
        !logs.contains(&jti) && !logs.contains(&stolen),
        "token contents in logs"
    );
    assert!(!logs.contains("officer-7"), "subject in logs");

    // A good file again is picked up.
    RevocationFile::default()
        .write_atomic(&path)
        .expect("write");
    assert_eq!(check(&auth, &stolen), Ok(()));
}

#[test]
fn a_missing_or_broken_file_is_refused_at_start() {
    let dir = std::env::temp_dir().join(pingan_platform::testing::unique_name("revoked-start"));
    std::fs::create_dir_all(&dir).expect("dir");
    assert!(Revocations::load(&dir.join("missing.json"), Duration::ZERO).is_err());
    let broken = dir.join("broken.json");
    std::fs::write(&broken, b"{\"jti\": 1}").expect("write");
    assert!(Revocations::load(&broken, Duration::ZERO).is_err());
    let unknown = dir.join("unknown.json");
    std::fs::write(&unknown, b"{\"tokens\": []}").expect("write");
    assert!(
        Revocations::load(&unknown, Duration::ZERO).is_err(),
        "typos are not ignored"
    );
    assert!(RevocationFile::read_or_empty(&dir.join("missing.json")).is_ok());
}

#[test]
fn the_documented_format_parses() {
    let dir = std::env::temp_dir().join(pingan_platform::testing::unique_name("revoked-doc"));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("revoked.json");
    std::fs::write(
        &path,
        br#"{"jti": ["5f0c"], "subjects": [{"sub": "officer-7", "not_before": 1764763200}]}"#,
    )
    .expect("write");
    let list = RevocationFile::read(&path).expect("documented format");
    assert_eq!(list.jti, vec!["5f0c".to_owned()]);
    assert_eq!(list.subjects[0].sub, "officer-7");
    assert_eq!(list.subjects[0].not_before, 1_764_763_200);
    std::fs::write(&path, b"{}").expect("write");
    assert_eq!(
        RevocationFile::read(&path).expect("empty object"),
        RevocationFile::default()
    );
}
