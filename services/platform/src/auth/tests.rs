use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use tonic::metadata::MetadataMap;

use super::*;

fn pair() -> (TokenIssuer, Authenticator) {
    let secret = b"test-secret-test-secret-test-secret";
    (
        TokenIssuer::new(secret, "pingan").expect("issuer"),
        Authenticator::new(secret, "pingan").expect("authenticator"),
    )
}

fn metadata(token: &str) -> MetadataMap {
    let mut metadata = MetadataMap::new();
    metadata.insert(
        "authorization",
        format!("Bearer {token}").parse().expect("metadata value"),
    );
    metadata
}

#[test]
fn a_valid_token_yields_roles_and_stations() {
    let (issuer, auth) = pair();
    let token = issuer
        .issue(
            "officer-7",
            &[Role::VillageOfficer],
            &["st-rongxiang"],
            Duration::from_secs(60),
        )
        .expect("token");
    let caller = auth.authenticate(&metadata(&token)).expect("caller");
    assert_eq!(caller.subject, "officer-7");
    assert!(caller.has_role(Role::VillageOfficer));
    assert!(caller.require_any(&[Role::Dispatcher]).is_err());
    assert!(caller.can_see_station("st-rongxiang"));
    assert!(caller.require_station("st-chengnan").is_err());
}

#[test]
fn bureau_wide_roles_without_stations_see_everything() {
    let (issuer, auth) = pair();
    let token = issuer
        .issue("intake", &[Role::Service], &[], Duration::from_secs(60))
        .expect("token");
    let caller = auth.authenticate(&metadata(&token)).expect("caller");
    assert!(caller.can_see_station("st-caye"));
}

#[test]
fn missing_forged_or_expired_tokens_are_rejected() {
    let (issuer, auth) = pair();
    assert!(matches!(
        auth.authenticate(&MetadataMap::new()),
        Err(ApiError::Unauthenticated(_))
    ));
    let forged = TokenIssuer::new(b"another-secret-another-secret!!", "pingan")
        .expect("issuer")
        .issue("x", &[Role::Admin], &[], Duration::from_secs(60))
        .expect("token");
    assert!(auth.authenticate(&metadata(&forged)).is_err());
    let expired = {
        let claims = Claims {
            sub: "x".into(),
            roles: vec![Role::Admin],
            stations: vec![],
            iss: "pingan".into(),
            aud: vec![],
            exp: 1_000,
            iat: 0,
            jti: None,
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"test-secret-test-secret-test-secret").expect("key"),
        )
        .expect("token")
    };
    assert!(auth.authenticate(&metadata(&expired)).is_err());
    let _ = issuer;
}

#[test]
fn dev_shape_treats_anonymous_calls_as_the_dev_user() {
    let auth = Authenticator::allowing_anonymous_dev(&random_secret(), "pingan").expect("auth");
    let caller = auth.authenticate(&MetadataMap::new()).expect("dev caller");
    assert_eq!(caller.subject, "dev");
    assert!(caller.has_role(Role::Dispatcher));
}

#[test]
fn a_service_peer_without_a_token_is_that_service_and_a_token_still_wins() {
    let (issuer, auth) = pair();
    let peer = ServicePeer("intake".into());
    let caller = auth
        .authenticate_with_peer(&MetadataMap::new(), Some(&peer))
        .expect("service caller");
    assert_eq!(caller.subject, "intake");
    assert!(caller.has_role(Role::Service));
    assert!(caller.can_see_station("st-caye"));
    let token = issuer
        .issue(
            "officer-7",
            &[Role::Dispatcher],
            &["st-1"],
            Duration::from_secs(60),
        )
        .expect("token");
    let caller = auth
        .authenticate_with_peer(&metadata(&token), Some(&peer))
        .expect("token caller");
    assert_eq!(caller.subject, "officer-7");
    assert!(!caller.has_role(Role::Service));
    assert!(
        auth.authenticate_with_peer(&MetadataMap::new(), None)
            .is_err()
    );
}

#[test]
fn a_device_token_speaks_for_its_unit_only() {
    let (issuer, auth) = pair();
    let token = issuer
        .issue("unit:u-1", &[Role::Device], &[], Duration::from_secs(60))
        .expect("token");
    let caller = auth.authenticate(&metadata(&token)).expect("caller");
    assert_eq!(caller.device_unit(), Some("u-1"));
    assert!(!caller.can_see_station("st-1"), "a device sees no station");
    let officer = issuer
        .issue(
            "unit:u-1",
            &[Role::StationOfficer],
            &["st-1"],
            Duration::from_secs(60),
        )
        .expect("token");
    let caller = auth.authenticate(&metadata(&officer)).expect("caller");
    assert_eq!(
        caller.device_unit(),
        None,
        "the subject alone is not a device"
    );
}
