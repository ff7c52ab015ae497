use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use super::*;

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pingan-tls-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn server_args(dir: &std::path::Path, service: &str) -> TlsArgs {
    TlsArgs {
        cert: Some(certs::server_cert(dir, service)),
        key: Some(certs::server_key(dir, service)),
        ..TlsArgs::default()
    }
}

#[test]
fn dev_certificates_name_their_service_and_a_second_run_keeps_the_ca() {
    let dir = temp_dir();
    let services = vec!["intake".to_owned(), "grid-registry".to_owned()];
    let first = certs::generate(&dir, &services, &["pingan.example".to_owned()]).expect("certs");
    assert!(!first.reused_ca);
    assert_eq!(first.files.len(), 2 + 4 * services.len());
    let client = std::fs::read(certs::client_cert(&dir, "grid-registry")).expect("client cert");
    let der = files::load_certs(&certs::client_cert(&dir, "grid-registry")).expect("pem");
    assert!(!client.is_empty());
    assert_eq!(service_name(&der[0]).as_deref(), Some("grid-registry"));
    let server = files::load_certs(&certs::server_cert(&dir, "intake")).expect("pem");
    let info = describe(&server[0]).expect("parses");
    for name in ["intake", "pingan-intake", "localhost", "pingan.example"] {
        assert!(info.dns_names.iter().any(|n| n == name), "{name}: {info:?}");
    }
    let ca_before = std::fs::read(certs::ca_cert(&dir)).expect("ca");
    let second = certs::generate(&dir, &services, &[]).expect("certs again");
    assert!(second.reused_ca);
    assert_eq!(std::fs::read(certs::ca_cert(&dir)).expect("ca"), ca_before);
    let again = files::load_certs(&certs::server_cert(&dir, "intake")).expect("pem");
    assert_ne!(
        describe(&again[0]).expect("parses").serial,
        info.serial,
        "a new certificate each run"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(certs::server_key(&dir, "intake"))
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "keys are private: {mode:o}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn settings_that_do_not_go_together_are_refused() {
    let half = TlsArgs {
        cert: Some("a.pem".into()),
        ..TlsArgs::default()
    };
    assert!(
        half.validate()
            .unwrap_err()
            .to_string()
            .contains("--tls-key")
    );
    let ca_only = TlsArgs {
        client_ca: Some("ca.pem".into()),
        ..TlsArgs::default()
    };
    assert!(
        ca_only
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--tls-client-ca")
    );
    assert!(TlsArgs::default().validate().is_ok());
}

#[test]
fn dev_refuses_a_non_loopback_address_without_tls() {
    let open: SocketAddr = "0.0.0.0:50051".parse().expect("addr");
    let local: SocketAddr = "127.0.0.1:50051".parse().expect("addr");
    let err = check_dev_listen(open, &TlsArgs::default()).expect_err("refused");
    assert!(err.to_string().contains("--listen"), "{err}");
    assert!(check_dev_listen(local, &TlsArgs::default()).is_ok());
    let tls = TlsArgs {
        cert: Some("a.pem".into()),
        key: Some("a-key.pem".into()),
        ..TlsArgs::default()
    };
    assert!(check_dev_listen(open, &tls).is_ok());
}

#[tokio::test]
async fn a_missing_or_mismatched_file_is_an_error_naming_it() {
    let dir = temp_dir();
    let missing = server_args(&dir, "intake");
    let err = ServerTls::load(&missing).expect_err("no files yet");
    assert!(err.to_string().contains("intake.pem"), "{err}");
    certs::generate(&dir, &["intake".to_owned(), "triage".to_owned()], &[]).expect("certs");
    assert!(ServerTls::load(&missing).is_ok());
    let mismatched = TlsArgs {
        key: Some(certs::server_key(&dir, "triage")),
        ..server_args(&dir, "intake")
    };
    assert!(ServerTls::load(&mismatched).is_err(), "key of another cert");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_changed_file_is_reloaded_and_a_broken_one_keeps_the_previous() {
    let dir = temp_dir();
    let services = ["intake".to_owned()];
    certs::generate(&dir, &services, &[]).expect("certs");
    let tls = ServerTls::load(&server_args(&dir, "intake")).expect("tls");
    let before = tls.reloading().current();
    assert!(!tls.reloading().reload_if_changed(false), "nothing changed");
    certs::generate(&dir, &services, &[]).expect("new certs");
    assert!(tls.reloading().reload_if_changed(false), "new files");
    assert!(!Arc::ptr_eq(&before, &tls.reloading().current()));
    let kept = tls.reloading().current();
    std::fs::write(certs::server_cert(&dir, "intake"), "garbage").expect("write");
    assert!(!tls.reloading().reload_if_changed(false), "broken file");
    assert!(Arc::ptr_eq(&kept, &tls.reloading().current()));
    let _ = std::fs::remove_dir_all(dir);
}
