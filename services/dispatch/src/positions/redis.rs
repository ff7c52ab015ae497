//! Live positions in Redis (the cluster shape, shared by every replica): a global GEO set and one
//! per station, the same two of AVAILABLE units only, a hash per unit (kind, station,
//! capabilities, status, call sign, latest fix) and a sorted set of fix times for forgetting old
//! positions. The available sets are rebuilt from the units' hashes by every upsert (so a
//! replica's warm-up at start fills them on an existing deployment). Writes go through small Lua scripts (the
//! out-of-order check and the set updates are atomic), many fixes per pipelined round trip.
//! Every key shares one hash tag ([`Keys`]): the scripts (which build the per-station key from
//! an argument) and the pipelines touch one hash slot, so they run on a Redis Cluster too.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use pingan_platform::redis_store::RedisStore;
use redis::Script;

use super::keys::Keys;
use super::redis_scripts::{FORGET, PLACE_AVAILABLE, RECORD, SEARCH, SET_STATUS, UPSERT};
use super::{
    Candidate, Fix, LivePosition, PositionError, PositionStore, Recorded, SearchQuery, UnitMeta,
};

/// Most members one GEOSEARCH returns before filtering (the radius bounds it too).
const SEARCH_CAP: usize = 2000;
/// Members read by the first window of a search, per unit asked for.
const WINDOW_PER_UNIT: usize = 4;
/// Smallest first window.
const MIN_WINDOW: usize = 32;
/// Each further window is this many times the last.
const WINDOW_GROWTH: usize = 4;
/// Radius of the first circle searched, metres (a town's patrol area).
const FIRST_RADIUS_M: f64 = 1_000.0;
/// Each further circle's radius is this many times the last, up to the query's.
const RADIUS_GROWTH: f64 = 4.0;
/// Fixes or units per pipelined round trip.
const BATCH: usize = 500;
/// Fixes per call of the record script: Redis runs nothing else while a script runs, so a call
/// is kept to ~1 ms. The script `unpack`s three values per fix into one GEOADD, and Lua's stack
/// takes ~8,000: keep this well under 2,000.
const FIXES_PER_SCRIPT: usize = 100;
/// Positions forgotten per round.
const FORGET_BATCH: isize = 1000;

/// The `UnitStatus` number of an available unit, as the scripts compare it.
fn available_status() -> i32 {
    pingan_proto::dispatch::v1::UnitStatus::Available as i32
}

/// The Redis live store.
pub struct RedisPositions {
    redis: RedisStore,
    keys: Keys,
    record: Script,
    upsert: Script,
    forget: Script,
    set_status: Script,
    search: Script,
}

impl std::fmt::Debug for RedisPositions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPositions")
            .field("prefix", &self.redis.prefix())
            .finish()
    }
}

/// The first search window for `limit` units.
fn first_window(limit: usize) -> usize {
    limit
        .saturating_mul(WINDOW_PER_UNIT)
        .clamp(MIN_WINDOW, SEARCH_CAP)
}

/// The first millisecond a fix may carry and still be fresh: stored fixes are whole
/// milliseconds, and one before `fresh_after` (to the nanosecond) is stale.
fn fresh_after_ms(fresh_after: DateTime<Utc>) -> i64 {
    let ms = fresh_after.timestamp_millis();
    match fresh_after.timestamp_subsec_nanos() % 1_000_000 {
        0 => ms,
        _ => ms + 1,
    }
}

fn unavailable(err: redis::RedisError) -> PositionError {
    PositionError::Unavailable(err.to_string())
}

impl RedisPositions {
    /// The store under `redis`'s key prefix.
    pub fn new(redis: RedisStore) -> Self {
        Self {
            keys: Keys::new(redis.prefix()),
            redis,
            record: Script::new(RECORD),
            upsert: Script::new(&format!("{PLACE_AVAILABLE}{UPSERT}")),
            forget: Script::new(FORGET),
            set_status: Script::new(&format!("{PLACE_AVAILABLE}{SET_STATUS}")),
            search: Script::new(SEARCH),
        }
    }

    /// The key layout.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    fn unit_key(&self, unit_id: &str) -> String {
        self.keys.unit(unit_id)
    }

    fn geo_key(&self) -> String {
        self.keys.geo()
    }

    fn station_prefix(&self) -> String {
        self.keys.station_prefix()
    }

    fn seen_key(&self) -> String {
        self.keys.seen()
    }

    /// Of the `count` members of `key` nearest the query's centre within `radius_m`: how many
    /// there were, and the nearest that pass the query's filters (at most its limit), with
    /// their distances and states, in one round trip (the search script).
    async fn nearest_members(
        &self,
        key: &str,
        query: &SearchQuery,
        radius_m: f64,
        count: usize,
    ) -> Result<(usize, Vec<(String, f64, UnitState)>), PositionError> {
        let mut invocation = self.search.key(key);
        invocation
            .arg(query.lon)
            .arg(query.lat)
            .arg(radius_m)
            .arg(count)
            .arg(self.unit_key(""))
            .arg(query.limit)
            .arg(fresh_after_ms(query.fresh_after));
        match query.only_available {
            true => invocation.arg(available_status()),
            false => invocation.arg(""),
        };
        let kinds: Vec<String> = query.kinds.iter().map(i32::to_string).collect();
        for list in [
            (!kinds.is_empty()).then_some(kinds.as_slice()),
            query.station_id.as_ref().map(std::slice::from_ref),
            query.stations.as_deref(),
            Some(query.capabilities.as_slice()),
            Some(query.exclude.as_slice()),
        ] {
            match list {
                None => invocation.arg(-1),
                Some(values) => invocation.arg(values.len()).arg(values),
            };
        }
        let mut connection = self.redis.connection();
        let flat: Vec<Option<String>> = invocation
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable)?;
        let Some((Some(found), flat)) = flat.split_first() else {
            return Err(PositionError::Unavailable(
                "the search script answered no member count".to_owned(),
            ));
        };
        let found = found.parse::<usize>().map_err(|_| {
            PositionError::Unavailable(format!("member count {found:?} is not a number"))
        })?;
        let mut members = Vec::with_capacity(flat.len() / MEMBER_WIDTH);
        for member in flat.chunks(MEMBER_WIDTH) {
            let [Some(id), Some(distance), fields @ ..] = member else {
                return Err(PositionError::Unavailable(
                    "the search script answered a member without id or distance".to_owned(),
                ));
            };
            let distance_m = distance.parse::<f64>().map_err(|_| {
                PositionError::Unavailable(format!("distance {distance:?} is not a number"))
            })?;
            let state = unit_state(id, fields);
            members.push((id.clone(), distance_m, state));
        }
        Ok((found, members))
    }

    async fn load_hashes(&self, ids: &[String]) -> Result<Vec<UnitState>, PositionError> {
        let mut out = Vec::with_capacity(ids.len());
        let mut connection = self.redis.connection();
        for chunk in ids.chunks(BATCH) {
            let mut pipe = redis::pipe();
            for id in chunk {
                pipe.cmd("HMGET").arg(self.unit_key(id)).arg(&UNIT_FIELDS);
            }
            let rows: Vec<Vec<Option<String>>> = pipe
                .query_async(&mut connection)
                .await
                .map_err(unavailable)?;
            out.extend(chunk.iter().zip(rows).map(|(id, row)| unit_state(id, &row)));
        }
        Ok(out)
    }
}

/// The fields of a unit's hash a search reads, in the order the search script returns them.
const UNIT_FIELDS: [&str; 8] = [
    "kind", "station", "caps", "status", "lat", "lon", "at", "callsign",
];
/// Values per member in the search script's answer: id, distance, then [`UNIT_FIELDS`].
const MEMBER_WIDTH: usize = 2 + UNIT_FIELDS.len();

/// A unit as its hash holds it: none when it has no kind, station or status (not registered),
/// no position when it has no complete fix.
type UnitState = Option<(UnitMeta, Option<LivePosition>)>;

/// The state of unit `id` from its hash's [`UNIT_FIELDS`]; a field that does not parse counts as
/// missing.
fn unit_state(id: &str, fields: &[Option<String>]) -> UnitState {
    let field = |index: usize| fields.get(index).and_then(Option::as_deref);
    let number = |index: usize| field(index).and_then(|v| v.parse::<f64>().ok());
    let kind = field(0)?.parse::<i32>().ok()?;
    let station_id = field(1)?.to_owned();
    let status = field(3)?.parse::<i32>().ok()?;
    let meta = UnitMeta {
        unit_id: id.to_owned(),
        kind,
        station_id,
        capabilities: field(2)
            .unwrap_or_default()
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        status,
        callsign: field(7).unwrap_or_default().to_owned(),
    };
    let at = field(6)
        .and_then(|v| v.parse::<i64>().ok())
        .and_then(DateTime::from_timestamp_millis);
    let position = match (number(4), number(5), at) {
        (Some(lat), Some(lon), Some(at)) => Some(LivePosition { lat, lon, at }),
        _ => None,
    };
    Some((meta, position))
}

#[tonic::async_trait]
impl PositionStore for RedisPositions {
    async fn upsert_units(&self, units: &[UnitMeta]) -> Result<(), PositionError> {
        let mut connection = self.redis.connection();
        for chunk in units.chunks(BATCH) {
            let mut pipe = redis::pipe();
            pipe.load_script(&self.upsert).ignore();
            for meta in chunk {
                let mut invocation = self.upsert.key(self.unit_key(&meta.unit_id));
                invocation
                    .key(self.keys.available())
                    .arg(&meta.unit_id)
                    .arg(meta.kind)
                    .arg(&meta.station_id)
                    .arg(meta.capabilities.join(","))
                    .arg(meta.status)
                    .arg(self.station_prefix())
                    .arg(&meta.callsign)
                    .arg(self.keys.available_station_prefix())
                    .arg(available_status());
                pipe.invoke_script(&invocation).ignore();
            }
            let () = pipe
                .query_async(&mut connection)
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    async fn set_status(&self, unit_id: &str, status: i32) -> Result<(), PositionError> {
        // Only for units the store knows (HSET on a missing hash would create a unit without kind).
        let mut connection = self.redis.connection();
        let _: i64 = self
            .set_status
            .key(self.unit_key(unit_id))
            .key(self.keys.available())
            .arg(status)
            .arg(unit_id)
            .arg(self.keys.available_station_prefix())
            .arg(available_status())
            .invoke_async(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn record(&self, fixes: &[Fix]) -> Result<Vec<Recorded>, PositionError> {
        let mut connection = self.redis.connection();
        let mut out = Vec::with_capacity(fixes.len());
        for chunk in fixes.chunks(BATCH) {
            let mut pipe = redis::pipe();
            pipe.load_script(&self.record).ignore();
            for group in chunk.chunks(FIXES_PER_SCRIPT) {
                let mut invocation = self.record.key(self.geo_key());
                invocation
                    .key(self.seen_key())
                    .key(self.keys.available())
                    .arg(self.unit_key(""))
                    .arg(self.station_prefix())
                    .arg(self.keys.available_station_prefix())
                    .arg(available_status());
                for fix in group {
                    invocation
                        .arg(&fix.unit_id)
                        .arg(fix.lon)
                        .arg(fix.lat)
                        .arg(fix.at.timestamp_millis());
                }
                pipe.invoke_script(&invocation);
            }
            let codes: Vec<Vec<i64>> = pipe
                .query_async(&mut connection)
                .await
                .map_err(unavailable)?;
            out.extend(codes.into_iter().flatten().map(|code| match code {
                1 => Recorded::Accepted,
                2 => Recorded::OutOfOrder,
                _ => Recorded::UnknownUnit,
            }));
        }
        Ok(out)
    }

    async fn search(&self, query: &SearchQuery) -> Result<Vec<Candidate>, PositionError> {
        // Available units have sets of their own: busy units nearer the centre are never read.
        let key = match (&query.station_id, query.only_available) {
            (Some(station), true) => self.keys.available_station(station),
            (Some(station), false) => self.keys.station(station),
            (None, true) => self.keys.available(),
            (None, false) => self.geo_key(),
        };
        // Nearest first in growing windows: the states of units beyond the first `limit`
        // matches are never read (one window answers when most units are available).
        let mut window = first_window(query.limit);
        // Growing circles too: GEOSEARCH reads every member inside its radius before it sorts,
        // so a dense fleet is searched near the centre first.
        let mut radius_m = query.radius_m.min(FIRST_RADIUS_M);
        // By id, not position: units at equal distances may come back in another order.
        let mut examined: HashSet<String> = HashSet::new();
        let mut found = Vec::new();
        loop {
            let (answered, members) = self.nearest_members(&key, query, radius_m, window).await?;
            for (id, distance_m, state) in members {
                // A wider window answers the nearer members again: each is judged once.
                if !examined.insert(id) {
                    continue;
                }
                let Some((meta, Some(position))) = state else {
                    continue;
                };
                if position.at < query.fresh_after || !query.accepts(&meta) {
                    continue;
                }
                found.push(Candidate {
                    meta,
                    position,
                    distance_m,
                });
                if found.len() >= query.limit {
                    return Ok(found);
                }
            }
            if answered < window && radius_m < query.radius_m {
                // Every member of this circle was judged: the next ones are all farther out.
                radius_m = (radius_m * RADIUS_GROWTH).min(query.radius_m);
                continue;
            }
            if answered < window || window >= SEARCH_CAP {
                return Ok(found);
            }
            window = (window * WINDOW_GROWTH).min(SEARCH_CAP);
        }
    }

    async fn positions(
        &self,
        unit_ids: &[String],
    ) -> Result<HashMap<String, LivePosition>, PositionError> {
        let states = self.load_hashes(unit_ids).await?;
        Ok(unit_ids
            .iter()
            .zip(states)
            .filter_map(|(id, state)| Some((id.clone(), state?.1?)))
            .collect())
    }

    async fn stations(
        &self,
        unit_ids: &[String],
    ) -> Result<HashMap<String, String>, PositionError> {
        let mut connection = self.redis.connection();
        let mut out = HashMap::with_capacity(unit_ids.len());
        for chunk in unit_ids.chunks(BATCH) {
            let mut pipe = redis::pipe();
            for id in chunk {
                pipe.cmd("HGET").arg(self.unit_key(id)).arg("station");
            }
            let stations: Vec<Option<String>> = pipe
                .query_async(&mut connection)
                .await
                .map_err(unavailable)?;
            out.extend(
                chunk
                    .iter()
                    .zip(stations)
                    .filter_map(|(id, station)| Some((id.clone(), station?))),
            );
        }
        Ok(out)
    }

    async fn forget_before(&self, cutoff: DateTime<Utc>) -> Result<u64, PositionError> {
        let mut connection = self.redis.connection();
        let ids: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(self.seen_key())
            .arg("-inf")
            .arg(format!("({}", cutoff.timestamp_millis()))
            .arg("LIMIT")
            .arg(0)
            .arg(FORGET_BATCH)
            .query_async(&mut connection)
            .await
            .map_err(unavailable)?;
        if ids.is_empty() {
            return Ok(0);
        }
        let mut pipe = redis::pipe();
        pipe.load_script(&self.forget).ignore();
        for id in &ids {
            let mut invocation = self.forget.key(self.unit_key(id));
            invocation
                .key(self.geo_key())
                .key(self.seen_key())
                .key(self.keys.available())
                .arg(id)
                .arg(cutoff.timestamp_millis())
                .arg(self.station_prefix())
                .arg(self.keys.available_station_prefix());
            pipe.invoke_script(&invocation);
        }
        let done: Vec<i64> = pipe
            .query_async(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok(done.into_iter().filter(|d| *d == 1).count() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fix_is_fresh_from_the_first_whole_millisecond_not_before_the_limit() {
        let whole = DateTime::from_timestamp_millis(1_700_000_000_123).expect("time");
        assert_eq!(fresh_after_ms(whole), 1_700_000_000_123);
        let between = whole + chrono::Duration::microseconds(400);
        assert_eq!(fresh_after_ms(between), 1_700_000_000_124);
    }

    fn fields(values: [Option<&str>; 8]) -> Vec<Option<String>> {
        values.iter().map(|v| v.map(str::to_owned)).collect()
    }

    #[test]
    fn a_registered_unit_with_a_fix_is_read_whole() {
        let row = fields([
            Some("2"),
            Some("st-1"),
            Some("boat,k9"),
            Some("1"),
            Some("30.5"),
            Some("114.25"),
            Some("1764921600000"),
            Some("CS-7"),
        ]);
        let (meta, position) = unit_state("u-7", &row).expect("a unit");
        assert_eq!(
            (
                meta.kind,
                meta.station_id.as_str(),
                meta.status,
                meta.callsign.as_str()
            ),
            (2, "st-1", 1, "CS-7")
        );
        assert_eq!(meta.capabilities, vec!["boat", "k9"]);
        let position = position.expect("a position");
        assert_eq!((position.lat, position.lon), (30.5, 114.25));
        assert_eq!(position.at.timestamp_millis(), 1_764_921_600_000);
    }

    #[test]
    fn a_unit_without_a_fix_has_no_position_and_a_stranger_no_state() {
        let registered = |kind: &str| {
            let mut row = vec![None; UNIT_FIELDS.len()];
            row[0] = Some(kind.to_owned());
            row[1] = Some("st-1".to_owned());
            row[3] = Some("1".to_owned());
            row
        };
        let (meta, position) = unit_state("u-7", &registered("2")).expect("a unit");
        assert!(meta.capabilities.is_empty() && meta.callsign.is_empty());
        assert!(position.is_none());
        assert!(unit_state("u-8", &fields([None; 8])).is_none());
        assert!(
            unit_state("u-9", &registered("two")).is_none(),
            "a kind that does not parse"
        );
    }
}
