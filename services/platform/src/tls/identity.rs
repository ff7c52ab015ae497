//! What a certificate says about its holder: the name a client certificate gives its service,
//! and the serial, names and expiry an operator checks.

use x509_parser::prelude::{FromDer as _, GeneralName, X509Certificate};

/// The names and validity of one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// Serial number, hex, as `openssl x509 -serial` prints it (colon-separated).
    pub serial: String,
    /// The subject's common name, when there is one.
    pub common_name: Option<String>,
    /// DNS names of the subject alternative names.
    pub dns_names: Vec<String>,
    /// Expiry, seconds since the epoch.
    pub not_after: i64,
}

/// Reads a DER certificate; None when it does not parse.
pub fn describe(der: &[u8]) -> Option<CertificateInfo> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let common_name = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned);
    let dns_names = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    Some(CertificateInfo {
        serial: cert.raw_serial_as_string(),
        common_name,
        dns_names,
        not_after: cert.validity().not_after.timestamp(),
    })
}

/// The service a (verified) client certificate names: its common name, else its first DNS name.
pub fn service_name(der: &[u8]) -> Option<String> {
    let info = describe(der)?;
    info.common_name
        .filter(|cn| !cn.is_empty())
        .or_else(|| info.dns_names.into_iter().next())
}
