-- Prepended to every pool script. All of one session's pool lives in these
-- keys, declared by the caller in this order:
--   pool   ZSET  entry id -> schedule score (projectable entries: live QRs and decoys)
--   entry  HASH  entry id -> "owner|round|key id|text,text,…" (immutable; decoys: "|||text,…"):
--                one text per showing, the same payload sealed with a fresh IV each;
--                entry id .. "@" -> "ms,ms,…": when each showing started (Valkey clock),
--                the i-th showing projected the i-th text, the first starts the window
--                (beside the entry, so a scan or a tick reads both in one HMGET)
--   used   HASH  entry id -> accepted scan (ms); and the field "" (never an entry id),
--                so the hash lives, with its expiry, from the pool's first script on
--   live   HASH  student id -> entry id of the QR the student must answer now
--   decoys SET   entry ids of decoys
--   frame  STRING "slot|showing start|text|text…": the frame of the current tick slot
local POOL, ENTRY, USED, LIVE, DECOYS, FRAME =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]

-- Valkey's clock is the one clock: projections and scans from any process
-- are stamped and compared against it. Returns the time in ms, then in µs.
local function now_ms()
  local t = redis.call('TIME')
  local seconds, micros = tonumber(t[1]), tonumber(t[2])
  return seconds * 1000 + math.floor(micros / 1000), seconds * 1000000 + micros
end

-- A never-shown entry is scored by its creation time (µs, from now_ms; scripts
-- run one at a time, so each script's time is its own) divided by 10^4: creation
-- order, and a tenth of any showing's score (its time in ms), so never-shown
-- entries come first.
local function add_entry(eid, owner, round, kid, texts, created_us)
  redis.call('HSET', ENTRY, eid, owner .. '|' .. round .. '|' .. kid .. '|' .. texts)
  redis.call('ZADD', POOL, created_us / 10000, eid)
end

local function split(list)
  local items = {}
  for item in string.gmatch(list, '[^,]+') do table.insert(items, item) end
  return items
end

-- The field of an entry's showings, in the entry hash (entry ids are hex: no clash).
local function shows_of(eid)
  return eid .. '@'
end

local function parse_entry(data)
  if not data then return nil end
  local owner, round, kid, texts = string.match(data, '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
  return {owner = owner, round = round, kid = kid, texts = split(texts)}
end

local function parse_starts(shows)
  local starts = {}
  if shows then
    for _, item in ipairs(split(shows)) do table.insert(starts, tonumber(item)) end
  end
  return starts
end

local function read_entry(eid)
  return parse_entry(redis.call('HGET', ENTRY, eid))
end

-- The starts of an entry's showings so far, oldest first ({} if never shown),
-- and the field as stored (false if never shown).
local function showings(eid)
  local shows = redis.call('HGET', ENTRY, shows_of(eid))
  return parse_starts(shows), shows
end

-- read_entry and showings in one command: the entry (nil if gone), its starts, the field.
local function read_entry_showings(eid)
  local both = redis.call('HMGET', ENTRY, eid, shows_of(eid))
  return parse_entry(both[1]), parse_starts(both[2]), both[2]
end

local function first_shown(eid)
  return showings(eid)[1]
end

local function add_decoy(eid, texts, created_us)
  add_entry(eid, '', '', '', texts, created_us)
  redis.call('SADD', DECOYS, eid)
end

local function forget_decoy(eid)
  redis.call('SREM', DECOYS, eid)
  redis.call('ZREM', POOL, eid)
  redis.call('HDEL', ENTRY, eid, shows_of(eid))
end

-- However the session ends, its pool goes some time after. `used` is made
-- here, so that a scan never has to set its expiry.
local function keep_until(at)
  redis.call('HSETNX', USED, '', 0)
  for i = 1, 5 do redis.call('EXPIREAT', KEYS[i], at) end
end
