//! The bureau identity provider's tokens: RS256 and ES256 verified against a JWKS file, keys
//! chosen by `kid`, rotation picked up without a restart, issuer, audience and clock skew
//! checked, and no algorithm confusion between the token secret and the provider's keys.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::JwkSet;
use pingan_platform::auth::{AuthSettings, Authenticator, Claims, Jwks, Role, TokenIssuer};
use pingan_platform::error::ApiError;
use tonic::metadata::MetadataMap;

const IDP: &str = "https://idp.bureau.example/realms/police";
const AUDIENCE: &str = "pingan";
const SECRET: &[u8] = b"token-secret-token-secret-token-secret";

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/jwt")
        .join(name);
    std::fs::read(&path).expect("fixture")
}

fn provider(algorithm: Algorithm, file: &str, kid: &str) -> TokenIssuer {
    TokenIssuer::from_der(algorithm, &fixture(file), kid, IDP)
        .expect("provider key")
        .with_audience(Some(AUDIENCE))
}

fn write_jwks(path: &Path, issuers: &[&TokenIssuer]) {
    let set = JwkSet {
        keys: issuers
            .iter()
            .map(|issuer| issuer.public_jwk().expect("public jwk"))
            .collect(),
    };
    std::fs::write(path, serde_json::to_vec(&set).expect("json")).expect("write jwks");
}

fn temp_jwks(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "pingan-jwks-{name}-{}",
        pingan_platform::testing::unique_name("t")
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    dir.join("jwks.json")
}

fn settings() -> AuthSettings {
    AuthSettings {
        audience: Some(AUDIENCE.into()),
        jwks_issuer: IDP.into(),
        ..AuthSettings::new("pingan")
    }
}

fn authenticator(path: &Path, refresh: Duration) -> Authenticator {
    let jwks = Jwks::load(path, refresh).expect("jwks");
    Authenticator::with_settings(Some(SECRET), Some(Arc::new(jwks)), settings()).expect("auth")
}

fn bearer(token: &str) -> MetadataMap {
    let mut metadata = MetadataMap::new();
    metadata.insert(
        "authorization",
        format!("Bearer {token}").parse().expect("metadata value"),
    );
    metadata
}

fn token(issuer: &TokenIssuer) -> String {
    issuer
        .issue(
            "officer-7",
            &[Role::Dispatcher],
            &["st-chengnan"],
            Duration::from_secs(300),
        )
        .expect("token")
}

fn rejected(auth: &Authenticator, token: &str) -> bool {
    matches!(
        auth.authenticate(&bearer(token)),
        Err(ApiError::Unauthenticated(_))
    )
}

#[test]
fn rs256_and_es256_tokens_of_the_provider_are_accepted_by_kid() {
    let rsa = provider(Algorithm::RS256, "rsa-a.der", "rsa-a");
    let ec = provider(Algorithm::ES256, "ec-a.der", "ec-a");
    let path = temp_jwks("accept");
    write_jwks(&path, &[&rsa, &ec]);
    let auth = authenticator(&path, Duration::from_secs(60));
    for issuer in [&rsa, &ec] {
        let caller = auth.authenticate(&bearer(&token(issuer))).expect("caller");
        assert_eq!(caller.subject, "officer-7");
        assert!(caller.has_role(Role::Dispatcher));
        assert!(caller.can_see_station("st-chengnan"));
        assert!(!caller.can_see_station("st-rongxiang"));
    }
    // The HS256 path still works beside the provider.
    let own = TokenIssuer::new(SECRET, "pingan")
        .expect("issuer")
        .with_audience(Some(AUDIENCE));
    assert!(auth.authenticate(&bearer(&token(&own))).is_ok());
}

#[test]
fn wrong_key_issuer_audience_or_kid_is_unauthenticated() {
    let rsa = provider(Algorithm::RS256, "rsa-a.der", "rsa-a");
    let path = temp_jwks("reject");
    write_jwks(&path, &[&rsa]);
    let auth = authenticator(&path, Duration::from_secs(60));
    // Signed by a key the provider never published, under a published kid.
    let forged = provider(Algorithm::RS256, "rsa-b.der", "rsa-a");
    assert!(rejected(&auth, &token(&forged)));
    // Unknown kid.
    assert!(rejected(
        &auth,
        &token(&provider(Algorithm::RS256, "rsa-b.der", "rsa-b"))
    ));
    // Another audience, no audience, another issuer.
    assert!(rejected(
        &auth,
        &token(&rsa.clone().with_audience(Some("other-system")))
    ));
    assert!(rejected(&auth, &token(&rsa.clone().with_audience(None))));
    let other_issuer = TokenIssuer::from_der(
        Algorithm::RS256,
        &fixture("rsa-a.der"),
        "rsa-a",
        "https://elsewhere.example",
    )
    .expect("issuer")
    .with_audience(Some(AUDIENCE));
    assert!(rejected(&auth, &token(&other_issuer)));
    // The provider's issuer on an HS256 token, and the HS256 issuer on a provider token.
    let hs_as_idp = TokenIssuer::new(SECRET, IDP)
        .expect("issuer")
        .with_audience(Some(AUDIENCE));
    assert!(rejected(&auth, &token(&hs_as_idp)));
    let idp_as_pingan =
        TokenIssuer::from_der(Algorithm::RS256, &fixture("rsa-a.der"), "rsa-a", "pingan")
            .expect("issuer")
            .with_audience(Some(AUDIENCE));
    assert!(rejected(&auth, &token(&idp_as_pingan)));
}

#[test]
fn clock_skew_is_allowed_up_to_the_leeway_only() {
    let rsa = provider(Algorithm::RS256, "rsa-a.der", "rsa-a");
    let path = temp_jwks("skew");
    write_jwks(&path, &[&rsa]);
    let auth = authenticator(&path, Duration::from_secs(60));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let claims = |exp: u64| Claims {
        sub: "officer-7".into(),
        roles: vec![Role::Dispatcher],
        stations: vec!["st-chengnan".into()],
        iss: IDP.into(),
        aud: vec![AUDIENCE.into()],
        exp,
        iat: now - 600,
        jti: None,
    };
    // Expired 10 s ago: within the 30 s leeway.
    let recent = rsa.sign(&claims(now - 10)).expect("token");
    assert!(auth.authenticate(&bearer(&recent)).is_ok());
    // Expired 5 minutes ago: refused.
    let stale = rsa.sign(&claims(now - 300)).expect("token");
    assert!(rejected(&auth, &stale));
}

#[test]
fn a_rotated_jwks_is_picked_up_and_the_removed_kid_stops_verifying() {
    let old = provider(Algorithm::RS256, "rsa-a.der", "2026-11");
    let new = provider(Algorithm::RS256, "rsa-b.der", "2026-12");
    let path = temp_jwks("rotate");
    write_jwks(&path, &[&old]);
    // A long refresh: the new kid must be found by the unknown-kid re-read.
    let auth = authenticator(&path, Duration::from_secs(3600));
    let old_token = token(&old);
    assert!(auth.authenticate(&bearer(&old_token)).is_ok());
    assert!(rejected(&auth, &token(&new)), "not published yet");

    // The provider rotates: new key published, old key withdrawn.
    std::thread::sleep(Duration::from_millis(1100));
    write_jwks(&path, &[&new]);
    assert!(auth.authenticate(&bearer(&token(&new))).is_ok());
    assert!(rejected(&auth, &old_token), "withdrawn kid still verifies");

    // A broken file keeps the keys cached (an outage of the sync job is not an outage of login).
    std::fs::write(&path, b"{not json").expect("write");
    std::thread::sleep(Duration::from_millis(1100));
    assert!(rejected(
        &auth,
        &token(&provider(Algorithm::RS256, "rsa-a.der", "x"))
    ));
    assert!(auth.authenticate(&bearer(&token(&new))).is_ok());
}

#[test]
fn a_periodic_refresh_drops_a_withdrawn_kid() {
    let old = provider(Algorithm::ES256, "ec-a.der", "ec-old");
    let other = provider(Algorithm::RS256, "rsa-b.der", "rsa-new");
    let path = temp_jwks("refresh");
    write_jwks(&path, &[&old, &other]);
    let auth = authenticator(&path, Duration::ZERO);
    let old_token = token(&old);
    assert!(auth.authenticate(&bearer(&old_token)).is_ok());
    write_jwks(&path, &[&other]);
    assert!(rejected(&auth, &old_token));
}

#[test]
fn no_algorithm_confusion() {
    let rsa = provider(Algorithm::RS256, "rsa-a.der", "rsa-a");
    let ec = provider(Algorithm::ES256, "ec-a.der", "ec-a");
    let path = temp_jwks("confusion");
    write_jwks(&path, &[&rsa, &ec]);
    let auth = authenticator(&path, Duration::from_secs(60));
    // An ES256 token naming the RSA key's kid.
    let mismatched = provider(Algorithm::ES256, "ec-a.der", "rsa-a");
    assert!(rejected(&auth, &token(&mismatched)));
    // An HS256 token signed with the public JWK bytes of the provider (the classic confusion).
    let jwks_text = std::fs::read(&path).expect("jwks");
    let confused = TokenIssuer::new(&jwks_text, IDP)
        .expect("issuer")
        .with_audience(Some(AUDIENCE));
    assert!(rejected(&auth, &token(&confused)));
    // `alg: none`.
    let claims = r#"{"sub":"x","roles":["admin"],"iss":"pingan","aud":"pingan","exp":9999999999}"#;
    let none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims.as_bytes())
    );
    assert!(rejected(&auth, &none));
    // A provider-only authenticator refuses HS256 altogether.
    let jwks = Jwks::load(&path, Duration::from_secs(60)).expect("jwks");
    let idp_only =
        Authenticator::with_settings(None, Some(Arc::new(jwks)), settings()).expect("auth");
    let own = TokenIssuer::new(SECRET, "pingan")
        .expect("issuer")
        .with_audience(Some(AUDIENCE));
    assert!(rejected(&idp_only, &token(&own)));
    assert!(idp_only.authenticate(&bearer(&token(&rsa))).is_ok());
}

#[test]
fn unknown_provider_roles_are_ignored_not_fatal() {
    let rsa = provider(Algorithm::RS256, "rsa-a.der", "rsa-a");
    let path = temp_jwks("roles");
    write_jwks(&path, &[&rsa]);
    let auth = authenticator(&path, Duration::from_secs(60));
    let jwks = Jwks::load(&path, Duration::from_secs(60)).expect("jwks");
    assert_eq!(jwks.key_ids(), vec!["rsa-a".to_owned()]);
    let claims = serde_json::json!({
        "sub": "officer-9", "roles": ["offline_access", "station_officer"],
        "stations": ["st-caye"], "iss": IDP, "aud": [AUDIENCE, "account"],
        "exp": 9_999_999_999_u64,
    });
    let mut header = jsonwebtoken::Header::new(Algorithm::RS256);
    header.kid = Some("rsa-a".into());
    let key = jsonwebtoken::EncodingKey::from_rsa_der(&fixture("rsa-a.der"));
    let token = jsonwebtoken::encode(&header, &claims, &key).expect("token");
    let caller = auth.authenticate(&bearer(&token)).expect("caller");
    assert_eq!(caller.roles.len(), 1);
    assert!(caller.has_role(Role::StationOfficer));
}

#[test]
fn a_jwks_without_usable_keys_is_refused_at_start() {
    let path = temp_jwks("empty");
    std::fs::write(&path, br#"{"keys":[]}"#).expect("write");
    assert!(Jwks::load(&path, Duration::from_secs(60)).is_err());
    assert!(
        Jwks::load(
            &path.with_file_name("missing.json"),
            Duration::from_secs(60)
        )
        .is_err()
    );
}

fn b64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0_u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(char::from(TABLE[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}
