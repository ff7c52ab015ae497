//! From settings to keys: one secret per purpose (token signing, PII encryption, PII blind
//! index), the identity provider's JWKS, and the warnings an operator gets at start when one
//! secret still serves two purposes.

use std::sync::Arc;
use std::time::Duration;

use super::{AuthConfig, PiiConfig};
use crate::auth::{
    AuthSettings, Authenticator, InvalidSecret, Jwks, JwksError, JwksUrlOptions, Revocations,
    RevokedError, TokenIssuer,
};
use crate::pii::{KeyId, MIN_KEY_LEN, PiiError, PiiKeys};

/// How often the revocation file is checked for a change: a revocation counts within a second.
const REVOKED_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Settings that cannot become keys.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// A required secret is missing or too short.
    #[error("{0}")]
    Missing(String),
    /// A personal-data key is unusable.
    #[error("{0}")]
    Pii(#[from] PiiError),
    /// The identity provider's JWKS is unusable.
    #[error("{0}")]
    Jwks(#[from] JwksError),
    /// The revocation file is unusable.
    #[error("--auth-revoked-file: {0}")]
    Revoked(#[from] RevokedError),
    /// The token secret is unusable.
    #[error("{0}")]
    Secret(#[from] InvalidSecret),
}

impl AuthConfig {
    /// What tokens must say: issuers, audience, clock skew.
    pub fn settings(&self) -> AuthSettings {
        AuthSettings {
            issuer: self.issuer.clone(),
            jwks_issuer: self
                .jwks_issuer
                .clone()
                .unwrap_or_else(|| self.issuer.clone()),
            audience: self.audience.clone(),
            leeway: self.leeway,
        }
    }

    /// The JWKS URL's settings (the file, when also given, keeps a copy of the last fetch).
    pub fn jwks_url_options(&self) -> Option<JwksUrlOptions> {
        let url = self
            .jwks_url
            .as_deref()
            .filter(|url| !url.trim().is_empty())?;
        let mut options = JwksUrlOptions::new(url, self.jwks_ca.as_deref());
        options.cache_file = self.jwks_file.clone();
        Some(options)
    }

    /// Checks the settings that need no network or file: the JWKS URL and its CA.
    pub fn validate(&self) -> Result<(), SecretsError> {
        if let Some(options) = self.jwks_url_options() {
            options.validate()?;
        }
        Ok(())
    }

    /// The authenticator: HS256 with `secret`, the identity provider's keys when a JWKS URL or
    /// file is configured, and the revocation list when one is.
    pub fn authenticator(&self, secret: Option<&[u8]>) -> Result<Authenticator, SecretsError> {
        let jwks = match (self.jwks_url_options(), &self.jwks_file) {
            (Some(options), _) => Some(Jwks::from_url(options, self.jwks_refresh)?),
            (None, Some(path)) => Some(Jwks::load(path, self.jwks_refresh)?),
            (None, None) => None,
        }
        .map(Arc::new);
        if let Some(jwks) = &jwks {
            tracing::info!(kids = ?jwks.key_ids(), "identity provider keys loaded");
        }
        let revoked = self
            .revoked_file
            .as_deref()
            .map(|path| Revocations::load(path, REVOKED_CHECK_INTERVAL).map(Arc::new))
            .transpose()?;
        Ok(Authenticator::with_settings(secret, jwks, self.settings())?.with_revocations(revoked))
    }

    /// The issuer of the services' own tokens (HS256 with `secret`, naming the audience).
    pub fn token_issuer(&self, secret: &[u8]) -> Result<TokenIssuer, SecretsError> {
        Ok(TokenIssuer::new(secret, &self.issuer)?.with_audience(self.audience.as_deref()))
    }

    /// The token secret, required and at least 32 characters.
    pub fn required_secret(&self) -> Result<&str, SecretsError> {
        self.secret
            .as_deref()
            .filter(|s| s.len() >= MIN_KEY_LEN)
            .ok_or_else(|| {
                SecretsError::Missing(
                    "PINGAN_AUTH_SECRET (at least 32 characters) is required: it signs and \
                     checks bearer tokens"
                        .into(),
                )
            })
    }
}

impl PiiConfig {
    /// The personal-data keys, None when no PII key at all is configured.
    pub fn keys(&self) -> Result<Option<PiiKeys>, SecretsError> {
        let encryption = self.named_keys()?;
        let master = self.key.as_deref().map(str::as_bytes);
        let index = match (self.index_key.as_deref(), master) {
            (Some(index), _) => index.as_bytes(),
            (None, Some(master)) => master,
            (None, None) if encryption.is_empty() => return Ok(None),
            (None, None) => {
                return Err(SecretsError::Missing(
                    "PINGAN_PII_INDEX_KEY is required beside PINGAN_PII_ENCRYPTION_KEYS".into(),
                ));
            }
        };
        if encryption.is_empty() && master.is_none() {
            return Err(SecretsError::Missing(
                "PINGAN_PII_ENCRYPTION_KEYS is required beside PINGAN_PII_INDEX_KEY".into(),
            ));
        }
        Ok(Some(PiiKeys::from_parts(index, &encryption, master)?))
    }

    fn named_keys(&self) -> Result<Vec<(KeyId, Vec<u8>)>, SecretsError> {
        self.encryption_keys
            .iter()
            .filter(|entry| !entry.trim().is_empty())
            .map(|entry| {
                let (id, secret) = entry.split_once('=').ok_or_else(|| {
                    SecretsError::Pii(PiiError::Setting(
                        "an encryption key is not `id=secret`".into(),
                    ))
                })?;
                Ok((id.trim().to_owned(), secret.trim().as_bytes().to_vec()))
            })
            .collect()
    }
}

/// What an operator should change: one secret serving two purposes.
pub fn secret_warnings(auth: &AuthConfig, pii: &PiiConfig) -> Vec<String> {
    let mut warnings = Vec::new();
    if pii.key.is_some() && (pii.encryption_keys.is_empty() || pii.index_key.is_none()) {
        warnings.push(
            "PINGAN_PII_KEY is deprecated: one secret derives both the PII encryption key and \
             the blind-index key; set PINGAN_PII_ENCRYPTION_KEYS (id=secret) and \
             PINGAN_PII_INDEX_KEY (the old PINGAN_PII_KEY keeps existing indexes matching), \
             run `pingan pii reencrypt`, then drop PINGAN_PII_KEY"
                .to_owned(),
        );
    }
    let token = auth.secret.as_deref();
    let pii_secrets: Vec<&str> = pii
        .key
        .iter()
        .map(String::as_str)
        .chain(pii.index_key.as_deref())
        .chain(
            pii.encryption_keys
                .iter()
                .filter_map(|e| e.split_once('=').map(|(_, s)| s.trim())),
        )
        .collect();
    if token.is_some_and(|token| pii_secrets.contains(&token)) {
        warnings.push(
            "the token signing secret is also a PII key: use a separate secret per purpose"
                .to_owned(),
        );
    }
    if pii.index_key.is_some()
        && pii
            .encryption_keys
            .iter()
            .filter_map(|e| e.split_once('=').map(|(_, s)| s.trim()))
            .any(|s| Some(s) == pii.index_key.as_deref())
    {
        warnings.push(
            "the PII blind-index key is also an encryption key: use a separate secret".to_owned(),
        );
    }
    warnings
}

/// Logs [`secret_warnings`] at start.
pub fn warn_about_secrets(auth: &AuthConfig, pii: &PiiConfig) {
    for warning in secret_warnings(auth, pii) {
        tracing::warn!("{warning}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "token-secret-0123456789abcdef-0123456789";
    const B: &str = "pii-master-0123456789abcdef-0123456789ab";
    const C: &str = "pii-index-0123456789abcdef-0123456789abc";
    const D: &str = "pii-enc-k1-0123456789abcdef-0123456789ab";

    fn pii(key: Option<&str>, enc: &[&str], index: Option<&str>) -> PiiConfig {
        PiiConfig {
            key: key.map(str::to_owned),
            encryption_keys: enc.iter().map(|s| (*s).to_owned()).collect(),
            index_key: index.map(str::to_owned),
        }
    }

    fn auth(secret: &str) -> AuthConfig {
        AuthConfig {
            secret: Some(secret.into()),
            ..AuthConfig::default()
        }
    }

    #[test]
    fn the_old_single_key_still_works_with_a_warning() {
        let config = pii(Some(B), &[], None);
        let keys = config.keys().expect("keys").expect("configured");
        assert_eq!(keys.current_key_id(), "master");
        let warnings = secret_warnings(&auth(A), &config);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("PINGAN_PII_KEY is deprecated"));
    }

    #[test]
    fn separate_keys_give_no_warning_and_keep_the_old_master_for_reading() {
        let config = pii(Some(B), &[&format!("k1={D}")], Some(C));
        let keys = config.keys().expect("keys").expect("configured");
        assert_eq!(keys.key_ids(), vec!["k1", "master"]);
        assert!(secret_warnings(&auth(A), &config).is_empty());
        let fresh = pii(None, &[&format!("k1={D}")], Some(C));
        assert_eq!(
            fresh.keys().expect("keys").expect("configured").key_ids(),
            vec!["k1"]
        );
    }

    #[test]
    fn reused_secrets_and_incomplete_settings_are_reported() {
        assert!(
            secret_warnings(&auth(B), &pii(Some(B), &[], None))
                .iter()
                .any(|w| w.contains("token signing secret"))
        );
        assert!(
            secret_warnings(&auth(A), &pii(None, &[&format!("k1={C}")], Some(C)))
                .iter()
                .any(|w| w.contains("blind-index key"))
        );
        assert!(pii(None, &[], None).keys().expect("keys").is_none());
        assert!(pii(None, &[&format!("k1={D}")], None).keys().is_err());
        assert!(pii(None, &[], Some(C)).keys().is_err());
        assert!(pii(None, &["no-equals-sign"], Some(C)).keys().is_err());
        assert!(pii(None, &["k1=short"], Some(C)).keys().is_err());
    }
}
