//! The Lua scripts of the Redis live store ([`super::redis::RedisPositions`]): each runs
//! atomically, so a unit's hash and the GEO sets built from it never disagree. Keys other than
//! KEYS are built from prefixes passed in ARGV; they share the layout's one hash tag.

/// Records a group of fixes in order, one code per fix (1 accepted, 2 out of order, 3 unknown
/// unit): one call per group, not per fix, since parsing a call cost Redis as much as the work.
/// Each set gets one GEOADD / ZADD for the whole group, members in fix order (a unit's later fix
/// in the group wins, as it would one by one), since every call from a script costs Redis about
/// as much as the member it adds.
/// KEYS: global geo, seen zset, available geo. ARGV: unit hash prefix, station geo prefix,
/// available station geo prefix, the AVAILABLE status number; then unit id, lon, lat, at ms per fix.
pub(super) const RECORD: &str = r"
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
pub(super) const PLACE_AVAILABLE: &str = r"
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
pub(super) const UPSERT: &str = r"
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
pub(super) const SET_STATUS: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1])
local station = redis.call('HGET', KEYS[1], 'station')
if station then place_available(KEYS[1], KEYS[2], ARGV[2], station, ARGV[1], ARGV[3], ARGV[4]) end
return 1
";

/// KEYS: unit hash, global geo, seen zset, available geo. ARGV: unit id, cutoff ms, station geo
/// prefix, available station geo prefix.
pub(super) const FORGET: &str = r"
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

/// The units nearest a point that pass the query's filters, with their state, in one round
/// trip: GEOSEARCH, then each member's unit hash until `limit` members passed (a fleet that
/// answers is read five hashes deep, not the whole window). Answers the number of members
/// GEOSEARCH found, then per member passed: id, distance in metres, kind, station, caps,
/// status, lat, lon, at, callsign. The filters mirror `SearchQuery::accepts` exactly (sets, not
/// string matching), so the caller's own check, which stays the judge, drops nothing.
/// KEYS: the GEO set searched. ARGV: lon, lat, radius in metres, most members, unit hash
/// prefix, limit, fresh-after (ms; `at` below it is stale), status ('' any), then five lists,
/// each its length (-1: no filter) and its values: kinds, station, stations, caps, exclude.
pub(super) const SEARCH: &str = r"
local members = redis.call('GEOSEARCH', KEYS[1], 'FROMLONLAT', ARGV[1], ARGV[2],
  'BYRADIUS', ARGV[3], 'm', 'ASC', 'COUNT', ARGV[4], 'WITHDIST')
local limit, fresh, status = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]
local at_arg = 9
local function list()
  local n = tonumber(ARGV[at_arg])
  at_arg = at_arg + 1
  if n < 0 then return nil end
  local values = {}
  for i = 1, n do
    values[i] = ARGV[at_arg]
    values[ARGV[at_arg]] = true
    at_arg = at_arg + 1
  end
  return values
end
local kinds, station, stations, caps, exclude = list(), list(), list(), list(), list()
local function has_caps(stored)
  if caps == nil or #caps == 0 then return true end
  local have = {}
  for cap in string.gmatch(stored or '', '[^,]+') do have[cap] = true end
  for _, cap in ipairs(caps) do
    if not have[cap] then return false end
  end
  return true
end
local out = {tostring(#members)}
local passed = 0
for _, member in ipairs(members) do
  local id = member[1]
  local u = redis.call('HMGET', ARGV[5] .. id, 'kind', 'station', 'caps', 'status', 'lat', 'lon', 'at', 'callsign')
  local at = tonumber(u[7])
  if u[1] and u[2] and u[4] and u[5] and u[6] and at and at >= fresh
    and (status == '' or u[4] == status)
    and (kinds == nil or kinds[u[1]])
    and (station == nil or station[u[2]])
    and (stations == nil or stations[u[2]])
    and has_caps(u[3])
    and not (exclude and exclude[id]) then
    out[#out + 1] = id
    out[#out + 1] = member[2]
    for field = 1, 8 do out[#out + 1] = u[field] end
    passed = passed + 1
    if passed >= limit then break end
  end
end
return out
";
