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
/// Fixes or units per pipelined round trip.
const BATCH: usize = 500;
/// Fixes per call of the record script: Redis runs nothing else while a script runs, so a call
/// is kept to ~1 ms.
const FIXES_PER_SCRIPT: usize = 100;
/// Positions forgotten per round.
const FORGET_BATCH: isize = 1000;

/// Records a group of fixes in order, one code per fix (1 accepted, 2 out of order, 3 unknown
/// unit): one call per group, not per fix, since parsing a call cost Redis as much as the work.
/// Each set gets one GEOADD / ZADD for the whole group, members in fix order (a unit's later fix
/// in the group wins, as it would one by one), since every call from a script costs Redis about
/// as much as the member it adds.
/// KEYS: global geo, seen zset, available geo. ARGV: unit hash prefix, station geo prefix,
/// available station geo prefix, the AVAILABLE status number; then unit id, lon, lat, at ms per fix.
const RECORD: &str = r"
local out = {}
local geo, seen, available = {}, {}, {}
local by_station, available_by_station = {}, {}
local function push(list, a, b, c)
  local n = #list
  list[n + 1], list[n + 2], list[n + 3] = a, b, c
end
local function push_to(lists, key, a, b, c)
  local list = lists[key]
  if not list then
    list = {}
    lists[key] = list
  end
  push(list, a, b, c)
end
for i = 5, #ARGV, 4 do
  local id, lon, lat, at = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local key = ARGV[1] .. id
  local unit = redis.call('HMGET', key, 'station', 'at', 'status')
  local station = unit[1]
  if not station then
    out[#out + 1] = 3
  elseif unit[2] and tonumber(unit[2]) > tonumber(at) then
    out[#out + 1] = 2
  else
    redis.call('HSET', key, 'lat', lat, 'lon', lon, 'at', at)
    push(geo, lon, lat, id)
    push_to(by_station, ARGV[2] .. station, lon, lat, id)
    if unit[3] == ARGV[4] then
      push(available, lon, lat, id)
      push_to(available_by_station, ARGV[3] .. station, lon, lat, id)
    end
    seen[#seen + 1] = at
    seen[#seen + 1] = id
    out[#out + 1] = 1
  end
end
if #geo > 0 then
  redis.call('GEOADD', KEYS[1], unpack(geo))
  redis.call('ZADD', KEYS[2], unpack(seen))
end
if #available > 0 then redis.call('GEOADD', KEYS[3], unpack(available)) end
for key, members in pairs(by_station) do redis.call('GEOADD', key, unpack(members)) end
for key, members in pairs(available_by_station) do redis.call('GEOADD', key, unpack(members)) end
return out
";

/// Puts a unit in its available sets or takes it out, after its status or station changed.
/// KEYS[2] is the global available geo; `station` the unit's station now.
const PLACE_AVAILABLE: &str = r"
local function place_available(unit_key, available_key, unit_id, station, status, available_prefix, available_status)
  local lon = redis.call('HGET', unit_key, 'lon')
  local lat = redis.call('HGET', unit_key, 'lat')
  if status == available_status and lon and lat then
    redis.call('GEOADD', available_key, lon, lat, unit_id)
    redis.call('GEOADD', available_prefix .. station, lon, lat, unit_id)
  else
    redis.call('ZREM', available_key, unit_id)
    redis.call('ZREM', available_prefix .. station, unit_id)
  end
end
";

/// KEYS: unit hash, available geo. ARGV: unit id, kind, station, capabilities, status, station
/// geo prefix, call sign, available station geo prefix, the AVAILABLE status number.
const UPSERT: &str = r"
local old = redis.call('HGET', KEYS[1], 'station')
redis.call('HSET', KEYS[1], 'kind', ARGV[2], 'station', ARGV[3], 'caps', ARGV[4], 'status', ARGV[5], 'callsign', ARGV[7])
if old and old ~= ARGV[3] then
  redis.call('ZREM', ARGV[6] .. old, ARGV[1])
  redis.call('ZREM', ARGV[8] .. old, ARGV[1])
  local lon = redis.call('HGET', KEYS[1], 'lon')
  local lat = redis.call('HGET', KEYS[1], 'lat')
  if lon and lat then redis.call('GEOADD', ARGV[6] .. ARGV[3], lon, lat, ARGV[1]) end
end
place_available(KEYS[1], KEYS[2], ARGV[1], ARGV[3], ARGV[5], ARGV[8], ARGV[9])
return 1
";

/// KEYS: unit hash, available geo. ARGV: status, unit id, available station geo prefix, the
/// AVAILABLE status number.
const SET_STATUS: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1])
local station = redis.call('HGET', KEYS[1], 'station')
if station then place_available(KEYS[1], KEYS[2], ARGV[2], station, ARGV[1], ARGV[3], ARGV[4]) end
return 1
";

/// KEYS: unit hash, global geo, seen zset, available geo. ARGV: unit id, cutoff ms, station geo
/// prefix, available station geo prefix.
const FORGET: &str = r"
local at = redis.call('HGET', KEYS[1], 'at')
if at and tonumber(at) >= tonumber(ARGV[2]) then return 0 end
redis.call('HDEL', KEYS[1], 'lat', 'lon', 'at')
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
local station = redis.call('HGET', KEYS[1], 'station')
if station then
  redis.call('ZREM', ARGV[3] .. station, ARGV[1])
  redis.call('ZREM', ARGV[4] .. station, ARGV[1])
end
return 1
";

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

    /// The `count` members of `key` nearest the query's centre within its radius, with distances.
    async fn nearest_members(
        &self,
        key: &str,
        query: &SearchQuery,
        count: usize,
    ) -> Result<Vec<(String, f64)>, PositionError> {
        let mut connection = self.redis.connection();
        redis::cmd("GEOSEARCH")
            .arg(key)
            .arg("FROMLONLAT")
            .arg(query.lon)
            .arg(query.lat)
            .arg("BYRADIUS")
            .arg(query.radius_m)
            .arg("m")
            .arg("ASC")
            .arg("COUNT")
            .arg(count)
            .arg("WITHDIST")
            .query_async(&mut connection)
            .await
            .map_err(unavailable)
    }

    async fn load_hashes(
        &self,
        ids: &[String],
    ) -> Result<Vec<Option<(UnitMeta, Option<LivePosition>)>>, PositionError> {
        let mut out = Vec::with_capacity(ids.len());
        let mut connection = self.redis.connection();
        for chunk in ids.chunks(BATCH) {
            let mut pipe = redis::pipe();
            for id in chunk {
                pipe.cmd("HMGET").arg(self.unit_key(id)).arg(&[
                    "kind", "station", "caps", "status", "lat", "lon", "at", "callsign",
                ]);
            }
            type Row = (
                Option<i32>,
                Option<String>,
                Option<String>,
                Option<i32>,
                Option<f64>,
                Option<f64>,
                Option<i64>,
                Option<String>,
            );
            let rows: Vec<Row> = pipe
                .query_async(&mut connection)
                .await
                .map_err(unavailable)?;
            for (id, (kind, station, caps, status, lat, lon, at, callsign)) in
                chunk.iter().zip(rows)
            {
                let (Some(kind), Some(station), Some(status)) = (kind, station, status) else {
                    out.push(None);
                    continue;
                };
                let meta = UnitMeta {
                    unit_id: id.clone(),
                    kind,
                    station_id: station,
                    capabilities: caps
                        .unwrap_or_default()
                        .split(',')
                        .filter(|c| !c.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    status,
                    callsign: callsign.unwrap_or_default(),
                };
                let position = match (lat, lon, at.and_then(DateTime::from_timestamp_millis)) {
                    (Some(lat), Some(lon), Some(at)) => Some(LivePosition { lat, lon, at }),
                    _ => None,
                };
                out.push(Some((meta, position)));
            }
        }
        Ok(out)
    }
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
        // By id, not position: units at equal distances may come back in another order.
        let mut examined: HashSet<String> = HashSet::new();
        let mut found = Vec::new();
        loop {
            let members = self.nearest_members(&key, query, window).await?;
            let fresh: Vec<&(String, f64)> = members
                .iter()
                .filter(|(id, _)| !examined.contains(id))
                .collect();
            let ids: Vec<String> = fresh.iter().map(|(id, _)| id.clone()).collect();
            let states = self.load_hashes(&ids).await?;
            examined.extend(ids);
            for ((_, distance_m), state) in fresh.into_iter().zip(states) {
                let Some((meta, Some(position))) = state else {
                    continue;
                };
                if position.at < query.fresh_after || !query.accepts(&meta) {
                    continue;
                }
                found.push(Candidate {
                    meta,
                    position,
                    distance_m: *distance_m,
                });
                if found.len() >= query.limit {
                    return Ok(found);
                }
            }
            if members.len() < window || window >= SEARCH_CAP {
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
