use super::*;

const OLD_MASTER: &[u8] = b"old-single-master-key-0123456789abcdef";
const INDEX: &[u8] = b"blind-index-key-0123456789abcdef-0123";
const K1: &[u8] = b"encryption-key-2026-11-0123456789abcdef";
const K2: &[u8] = b"encryption-key-2026-12-0123456789abcdef";

fn named(pairs: &[(&str, &[u8])]) -> Vec<(KeyId, Vec<u8>)> {
    pairs
        .iter()
        .map(|(id, key)| ((*id).to_owned(), key.to_vec()))
        .collect()
}

/// A ciphertext exactly as the code before key ids wrote it: nonce, then AES-GCM, no header.
fn legacy_sealed(master: &[u8], clear: &str) -> Vec<u8> {
    let nonce_bytes = [7_u8; NONCE_LEN];
    let nonce = Nonce::try_from(&nonce_bytes[..]).expect("nonce");
    let body = cipher(master)
        .encrypt(&nonce, clear.as_bytes())
        .expect("encrypt");
    [nonce_bytes.to_vec(), body].concat()
}

#[test]
fn blind_index_matches_equal_numbers_only_under_the_same_key() {
    let keys = PiiKeys::from_master(&[1_u8; 32]).expect("keys");
    let a = keys.blind_index(PiiKind::IdNumber, "11010519491231002x");
    assert_eq!(a, keys.blind_index(PiiKind::IdNumber, "11010519491231002X"));
    assert_ne!(a, keys.blind_index(PiiKind::Phone, "11010519491231002X"));
    assert!(!a.contains("110105"));
    let other = PiiKeys::from_master(&[2_u8; 32]).expect("keys");
    assert_ne!(
        a,
        other.blind_index(PiiKind::IdNumber, "11010519491231002X")
    );
}

#[test]
fn encryption_round_trips_and_detects_tampering() {
    let keys = PiiKeys::random();
    let sealed = keys.encrypt("18247856977").expect("encrypt");
    assert!(!String::from_utf8_lossy(&sealed).contains("18247856977"));
    assert_eq!(keys.decrypt(&sealed).expect("decrypt"), "18247856977");
    assert_ne!(sealed, keys.encrypt("18247856977").expect("encrypt"));
    let mut altered = sealed.clone();
    if let Some(last) = altered.last_mut() {
        *last ^= 1;
    }
    assert!(keys.decrypt(&altered).is_err());
    assert!(PiiKeys::random().decrypt(&sealed).is_err());
}

#[test]
fn short_keys_are_refused_and_debug_is_redacted() {
    assert!(PiiKeys::from_master(b"short").is_err());
    assert!(PiiKeys::from_parts(INDEX, &named(&[("k1", b"short")]), None).is_err());
    assert!(PiiKeys::from_parts(b"short", &named(&[("k1", K1)]), None).is_err());
    assert_eq!(format!("{:?}", PiiKeys::random()), "PiiKeys(<redacted>)");
}

#[test]
fn values_written_before_key_ids_stay_readable_and_keep_their_blind_index() {
    let old = legacy_sealed(OLD_MASTER, "18247856977");
    let legacy = PiiKeys::from_master(OLD_MASTER).expect("keys");
    assert_eq!(legacy.decrypt(&old).expect("decrypt"), "18247856977");
    // Separate keys now, the old master kept for old rows, the index key set to the old master
    // so existing blind indexes still match.
    let split =
        PiiKeys::from_parts(OLD_MASTER, &named(&[("k1", K1)]), Some(OLD_MASTER)).expect("keys");
    assert_eq!(split.decrypt(&old).expect("decrypt"), "18247856977");
    assert_eq!(
        split.blind_index(PiiKind::Phone, "18247856977"),
        legacy.blind_index(PiiKind::Phone, "18247856977")
    );
    assert_eq!(split.current_key_id(), "k1");
    assert_eq!(split.key_ids(), vec!["k1", MASTER_KEY_ID]);
    // Without the master, the old row cannot be read (and nothing pretends it can).
    let without = PiiKeys::from_parts(INDEX, &named(&[("k1", K1)]), None).expect("keys");
    assert!(without.decrypt(&old).is_err());
}

#[test]
fn rotation_reads_old_data_writes_under_the_new_key_and_reencrypts() {
    let before = PiiKeys::from_parts(INDEX, &named(&[("k1", K1)]), None).expect("keys");
    let sealed_k1 = before.encrypt("540523194701041012").expect("encrypt");
    assert_eq!(PiiKeys::key_id_of(&sealed_k1), Some("k1"));

    let after = PiiKeys::from_parts(INDEX, &named(&[("k2", K2), ("k1", K1)]), None).expect("keys");
    assert_eq!(
        after.decrypt(&sealed_k1).expect("old data readable"),
        "540523194701041012"
    );
    let fresh = after.encrypt("540523194701041012").expect("encrypt");
    assert_eq!(PiiKeys::key_id_of(&fresh), Some("k2"));
    assert!(
        before.decrypt(&fresh).is_err(),
        "the old key cannot read new data"
    );
    assert_eq!(after.reencrypt(&fresh).expect("reencrypt"), None);

    let moved = after
        .reencrypt(&sealed_k1)
        .expect("reencrypt")
        .expect("moved to k2");
    assert_eq!(PiiKeys::key_id_of(&moved), Some("k2"));
    // Once every row moved, k1 can be dropped.
    let only_k2 = PiiKeys::from_parts(INDEX, &named(&[("k2", K2)]), None).expect("keys");
    assert_eq!(
        only_k2.decrypt(&moved).expect("decrypt"),
        "540523194701041012"
    );
    assert!(only_k2.decrypt(&sealed_k1).is_err());
}

#[test]
fn a_swapped_key_id_does_not_open() {
    let keys = PiiKeys::from_parts(INDEX, &named(&[("k2", K2), ("k1", K1)]), None).expect("keys");
    let sealed = keys.encrypt("18247856977").expect("encrypt");
    // Same length id, other key: the header is authenticated, so the value does not open.
    let mut swapped = sealed.clone();
    swapped[MAGIC.len() + 2] = b'1';
    assert_eq!(PiiKeys::key_id_of(&swapped), Some("k1"));
    assert!(keys.decrypt(&swapped).is_err());
}

#[test]
fn bad_key_ids_are_refused() {
    assert!(PiiKeys::from_parts(INDEX, &named(&[("", K1)]), None).is_err());
    assert!(PiiKeys::from_parts(INDEX, &named(&[(MASTER_KEY_ID, K1)]), None).is_err());
    assert!(PiiKeys::from_parts(INDEX, &named(&[("k1", K1), ("k1", K2)]), None).is_err());
    assert!(PiiKeys::from_parts(INDEX, &[], None).is_err());
}
