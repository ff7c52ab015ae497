//! The Redis key layout of dispatch: every key under one hash tag, so that every Lua script,
//! pipeline and MULTI touches a single hash slot and runs unchanged on Redis Cluster.
//!
//! A key is `<prefix>{<tag>}:<name>`, the tag being the prefix without its trailing `:` (one tag
//! per deployment prefix: `pingan:` gives `pingan:{pingan}:unit:u-1`). A prefix that already
//! carries a hash tag (`app:{blue}:`) is kept as is: its tag is the one Redis uses. The
//! per-station GEO sets are built inside the scripts from [`Keys::station_prefix`], so they share
//! the tag too.

/// Number of hash slots of a Redis Cluster.
pub const SLOTS: u16 = 16384;

/// Tag used when the prefix is empty.
const DEFAULT_TAG: &str = "dispatch";

/// The keys and channels dispatch uses in Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// Everything before the key's own name: `<prefix>{<tag>}:`.
    base: String,
}

impl Keys {
    /// The layout under `prefix` (the deployment's Redis prefix).
    pub fn new(prefix: &str) -> Self {
        let base = if hash_tag(prefix).is_some() {
            prefix.to_owned()
        } else {
            let tag = prefix.trim_end_matches(':');
            // Braces in the tag would end it early: they are left out of it.
            let tag: String = tag.chars().filter(|c| *c != '{' && *c != '}').collect();
            let tag = if tag.is_empty() { DEFAULT_TAG } else { &tag };
            format!("{prefix}{{{tag}}}:")
        };
        Self { base }
    }

    /// The hash tag every key shares.
    pub fn tag(&self) -> &str {
        hash_tag(&self.base).unwrap_or_default()
    }

    /// The hash of one unit (kind, station, capabilities, status, latest fix).
    pub fn unit(&self, unit_id: &str) -> String {
        format!("{}unit:{unit_id}", self.base)
    }

    /// The GEO set of every unit's latest position.
    pub fn geo(&self) -> String {
        format!("{}units:geo", self.base)
    }

    /// What the scripts prepend to a station id to name its GEO set.
    pub fn station_prefix(&self) -> String {
        format!("{}units:geo:", self.base)
    }

    /// The GEO set of one station.
    pub fn station(&self, station_id: &str) -> String {
        format!("{}{station_id}", self.station_prefix())
    }

    /// The GEO set of the AVAILABLE units' latest positions (searched when only available
    /// units are asked for, so busy units nearer the centre are never read).
    pub fn available(&self) -> String {
        format!("{}units:available", self.base)
    }

    /// What the scripts prepend to a station id to name its GEO set of AVAILABLE units.
    pub fn available_station_prefix(&self) -> String {
        format!("{}units:available:", self.base)
    }

    /// The GEO set of one station's AVAILABLE units.
    pub fn available_station(&self, station_id: &str) -> String {
        format!("{}{station_id}", self.available_station_prefix())
    }

    /// The sorted set of fix times (for forgetting old positions).
    pub fn seen(&self) -> String {
        format!("{}units:seen", self.base)
    }

    /// The pub/sub channel of board changes shared by every replica.
    pub fn board_channel(&self) -> String {
        format!("{}board", self.base)
    }

    /// Set (with a short expiry) while some replica has board watchers: position-only updates
    /// are published across replicas only then.
    pub fn board_watched(&self) -> String {
        format!("{}board:watched", self.base)
    }
}

/// The hash tag Redis Cluster hashes `key` by: the text between the first `{` and the first `}`
/// after it, when that text is not empty.
pub fn hash_tag(key: &str) -> Option<&str> {
    let open = key.find('{')?;
    let rest = &key[open + 1..];
    let close = rest.find('}')?;
    (close > 0).then(|| &rest[..close])
}

/// The Redis Cluster hash slot of `key` (CRC16/XMODEM of its hash tag or whole name, mod 16384).
pub fn key_slot(key: &str) -> u16 {
    let hashed = hash_tag(key).unwrap_or(key);
    crc16(hashed.as_bytes()) % SLOTS
}

/// CRC16/XMODEM (polynomial 0x1021, initial 0), as Redis Cluster uses.
fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for byte in bytes {
        crc ^= u16::from(*byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_and_slots_match_redis() {
        assert_eq!(crc16(b"123456789"), 0x31C3);
        // Values from `CLUSTER KEYSLOT` on a Redis Cluster.
        assert_eq!(key_slot("foo"), 12182);
        assert_eq!(key_slot("bar"), 5061);
        assert_eq!(key_slot("{user1000}.following"), key_slot("user1000"));
        assert_eq!(key_slot("foo{}{bar}"), key_slot("foo{}{bar}"));
        assert_eq!(hash_tag("foo{}{bar}"), None);
        assert_eq!(hash_tag("foo{{bar}}zap"), Some("{bar"));
        assert_eq!(hash_tag("foo{bar}{zap}"), Some("bar"));
    }

    #[test]
    fn every_key_shares_the_prefix_tag() {
        let keys = Keys::new("pingan:");
        assert_eq!(keys.unit("u-1"), "pingan:{pingan}:unit:u-1");
        assert_eq!(keys.geo(), "pingan:{pingan}:units:geo");
        assert_eq!(keys.station("st-1"), "pingan:{pingan}:units:geo:st-1");
        assert_eq!(keys.seen(), "pingan:{pingan}:units:seen");
        assert_eq!(keys.board_channel(), "pingan:{pingan}:board");
        assert_eq!(keys.tag(), "pingan");
        let slot = key_slot(&keys.geo());
        for key in [
            keys.unit("u-1"),
            keys.unit("a unit {with} braces"),
            keys.station("st-1"),
            keys.available(),
            keys.available_station("st-1"),
            keys.seen(),
            keys.board_watched(),
        ] {
            assert_eq!(key_slot(&key), slot, "{key}");
        }
        // Keys of two deployments fall apart.
        assert_ne!(Keys::new("blue:").tag(), Keys::new("green:").tag());
    }

    #[test]
    fn a_prefix_with_its_own_tag_or_none_is_handled() {
        let tagged = Keys::new("app:{blue}:");
        assert_eq!(tagged.unit("u"), "app:{blue}:unit:u");
        assert_eq!(tagged.tag(), "blue");
        let empty = Keys::new("");
        assert_eq!(empty.geo(), "{dispatch}:units:geo");
        let odd = Keys::new("a}b:");
        assert_eq!(odd.tag(), "ab");
        assert_eq!(key_slot(&odd.unit("x")), key_slot(&odd.seen()));
    }
}
