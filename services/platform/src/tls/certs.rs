//! A local CA and a server and a client certificate per service, for tests, a laptop and the
//! Helm chart (`pingan certs dev`). Files in `DIR`:
//!
//! | file | what |
//! |---|---|
//! | `ca.pem`, `ca-key.pem` | the CA (kept: a second run signs with the same CA) |
//! | `<service>.pem`, `<service>-key.pem` | server certificate: CN and DNS `<service>`, `pingan-<service>`, `localhost`, 127.0.0.1, ::1, any `--host` |
//! | `<service>-client.pem`, `<service>-client-key.pem` | client certificate: CN and DNS `<service>` (mutual TLS) |

use std::path::{Path, PathBuf};

use chrono::{Datelike as _, Duration as Days, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SerialNumber,
};

use super::TlsError;

/// Validity of the CA, in days.
const CA_DAYS: i64 = 3650;
/// Validity of a service certificate, in days.
const LEAF_DAYS: i64 = 365;

/// The CA certificate's path in `dir`.
pub fn ca_cert(dir: &Path) -> PathBuf {
    dir.join("ca.pem")
}

/// The CA key's path in `dir`.
pub fn ca_key(dir: &Path) -> PathBuf {
    dir.join("ca-key.pem")
}

/// The server certificate of `service` in `dir`.
pub fn server_cert(dir: &Path, service: &str) -> PathBuf {
    dir.join(format!("{service}.pem"))
}

/// The server key of `service` in `dir`.
pub fn server_key(dir: &Path, service: &str) -> PathBuf {
    dir.join(format!("{service}-key.pem"))
}

/// The client certificate of `service` in `dir`.
pub fn client_cert(dir: &Path, service: &str) -> PathBuf {
    dir.join(format!("{service}-client.pem"))
}

/// The client key of `service` in `dir`.
pub fn client_key(dir: &Path, service: &str) -> PathBuf {
    dir.join(format!("{service}-client-key.pem"))
}

fn generate_error(err: impl std::fmt::Display) -> TlsError {
    TlsError::Generate(err.to_string())
}

fn validity(params: &mut CertificateParams, days: i64) {
    let date = |at: chrono::DateTime<Utc>| {
        // Months and days always fit in a u8.
        rcgen::date_time_ymd(at.year(), at.month() as u8, at.day() as u8)
    };
    let now = Utc::now();
    params.not_before = date(now - Days::days(1));
    params.not_after = date(now + Days::days(days));
}

fn random_serial() -> SerialNumber {
    use rand::RngCore as _;
    let mut bytes = [0_u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    // Positive, and without a leading zero byte.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&bytes)
}

/// Writes `contents` to `path` through a temporary file and a rename, so a watching server
/// never reads half a file; keys are readable by their owner only.
fn write_atomic(path: &Path, contents: &str, private: bool) -> Result<(), TlsError> {
    use std::io::Write as _;
    let io = |err: std::io::Error| TlsError::File {
        path: path.to_owned(),
        message: err.to_string(),
    };
    let temp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(&temp).map_err(io)?;
    file.write_all(contents.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&temp, path).map_err(io)
}

/// The CA in `dir`: the existing one when both files are there, else a new one (written).
fn load_or_create_ca(dir: &Path) -> Result<Issuer<'static, KeyPair>, TlsError> {
    let (cert_path, key_path) = (ca_cert(dir), ca_key(dir));
    if cert_path.exists() && key_path.exists() {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|err| TlsError::File {
                path: path.to_owned(),
                message: err.to_string(),
            })
        };
        let key = KeyPair::from_pem(&read(&key_path)?).map_err(generate_error)?;
        return Issuer::from_ca_cert_pem(&read(&cert_path)?, key).map_err(generate_error);
    }
    let key = KeyPair::generate().map_err(generate_error)?;
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "Pingan development CA");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Pingan");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.serial_number = Some(random_serial());
    validity(&mut params, CA_DAYS);
    let cert = params.self_signed(&key).map_err(generate_error)?;
    write_atomic(&key_path, &key.serialize_pem(), true)?;
    write_atomic(&cert_path, &cert.pem(), false)?;
    Ok(Issuer::new(params, key))
}

fn leaf(
    issuer: &Issuer<'_, KeyPair>,
    service: &str,
    names: Vec<String>,
    usages: Vec<ExtendedKeyUsagePurpose>,
    cert_path: &Path,
    key_path: &Path,
) -> Result<(), TlsError> {
    let key = KeyPair::generate().map_err(generate_error)?;
    let mut params = CertificateParams::new(names).map_err(generate_error)?;
    params.distinguished_name.push(DnType::CommonName, service);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Pingan");
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = usages;
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(random_serial());
    validity(&mut params, LEAF_DAYS);
    let cert = params.signed_by(&key, issuer).map_err(generate_error)?;
    // Key first: a server watching the pair reloads once both are new.
    write_atomic(key_path, &key.serialize_pem(), true)?;
    write_atomic(cert_path, &cert.pem(), false)
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// Every file written, in order.
    pub files: Vec<PathBuf>,
    /// True when the CA was already there and was reused.
    pub reused_ca: bool,
}

/// Makes (or reuses) the CA in `dir` and a fresh server and client certificate for each of
/// `services`, the server ones also valid for `hosts`.
pub fn generate(dir: &Path, services: &[String], hosts: &[String]) -> Result<Generated, TlsError> {
    std::fs::create_dir_all(dir).map_err(|err| TlsError::File {
        path: dir.to_owned(),
        message: err.to_string(),
    })?;
    let reused_ca = ca_cert(dir).exists() && ca_key(dir).exists();
    let issuer = load_or_create_ca(dir)?;
    let mut files = vec![ca_cert(dir), ca_key(dir)];
    for service in services {
        if service.is_empty()
            || !service
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(TlsError::Generate(format!(
                "invalid service name {service:?}: letters, digits and '-' only"
            )));
        }
        let mut names = vec![
            service.clone(),
            format!("pingan-{service}"),
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ];
        names.extend(hosts.iter().cloned());
        leaf(
            &issuer,
            service,
            names,
            vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
            &server_cert(dir, service),
            &server_key(dir, service),
        )?;
        leaf(
            &issuer,
            service,
            vec![service.clone()],
            vec![ExtendedKeyUsagePurpose::ClientAuth],
            &client_cert(dir, service),
            &client_key(dir, service),
        )?;
        files.extend([
            server_cert(dir, service),
            server_key(dir, service),
            client_cert(dir, service),
            client_key(dir, service),
        ]);
    }
    Ok(Generated { files, reused_ca })
}
