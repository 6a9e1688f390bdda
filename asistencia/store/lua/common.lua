-- Prepended to every pool script. All of one session's pool lives in these
-- keys, declared by the caller in this order:
--   pool   ZSET  entry id -> schedule score (projectable entries: live QRs and decoys)
--   entry  HASH  entry id -> "owner|round|key id|text,text,…" (immutable; decoys: "|||text,…"):
--                one text per showing, the same payload sealed with a fresh IV each
--   shows  HASH  entry id -> "ms,ms,…": when each showing started (Valkey clock); the
--                i-th showing projected the i-th text, the first starts the window
--   used   HASH  entry id -> accepted scan (ms)
--   live   HASH  student id -> entry id of the QR the student must answer now
--   decoys SET   entry ids of decoys
--   seq    STRING creation counter
--   frame  STRING "slot|showing start|text|text…": the frame of the current tick slot
local POOL, ENTRY, SHOWS, USED, LIVE, DECOYS, SEQ, FRAME =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]

-- Valkey's clock is the one clock: projections and scans from any process
-- are stamped and compared against it.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- A never-shown entry is scored by creation order; that number stays far
-- below any projection time in ms, so never-shown entries come first.
-- Returns the creation number (1: the counter was just made).
local function add_entry(eid, owner, round, kid, texts)
  redis.call('HSET', ENTRY, eid, owner .. '|' .. round .. '|' .. kid .. '|' .. texts)
  local seq = redis.call('INCR', SEQ)
  redis.call('ZADD', POOL, seq, eid)
  return seq
end

local function split(list)
  local items = {}
  for item in string.gmatch(list, '[^,]+') do table.insert(items, item) end
  return items
end

local function read_entry(eid)
  local data = redis.call('HGET', ENTRY, eid)
  if not data then return nil end
  local owner, round, kid, texts = string.match(data, '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
  return {owner = owner, round = round, kid = kid, texts = split(texts)}
end

-- The starts of an entry's showings so far, oldest first ({} if never shown),
-- and the field as stored (nil if never shown).
local function showings(eid)
  local shows = redis.call('HGET', SHOWS, eid)
  local starts = {}
  if shows then
    for _, item in ipairs(split(shows)) do table.insert(starts, tonumber(item)) end
  end
  return starts, shows
end

local function first_shown(eid)
  return showings(eid)[1]
end

local function add_decoy(eid, texts)
  add_entry(eid, '', '', '', texts)
  redis.call('SADD', DECOYS, eid)
end

local function forget_decoy(eid)
  redis.call('SREM', DECOYS, eid)
  redis.call('ZREM', POOL, eid)
  redis.call('HDEL', ENTRY, eid)
  redis.call('HDEL', SHOWS, eid)
end

-- However the session ends, its pool goes some time after.
local function keep_until(at)
  for i = 1, 7 do redis.call('EXPIREAT', KEYS[i], at) end
end
