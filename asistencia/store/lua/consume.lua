-- Check a submitted QR and, if every check passes, use it up: atomically, so
-- two submissions of one QR give exactly one success.
-- ARGV: entry id, text, owner, expected round, proof round,
--       attempts left (1/0), window_ms, keep_until,
--       next entry id ("" on the last round), next round, next key id, next texts ("a,b,…")
-- Checks run in SPEC §3.5 order; the first that fails is returned as {code}.
-- Success returns {"OK", first projection ms, start of the answered showing ms, receipt ms}:
-- the text says which showing it was (every showing projects a text of its own).
-- A scan is the hot path: it touches only what it changes, and sets the expiry
-- (keep_until) only of keys it may have created (`live`, `pool`); the
-- others got theirs from the script that made them (`used` from keep_until,
-- which makes it), and every projector tick renews them all.
local eid, owner = ARGV[1], ARGV[3]
local entry, starts = read_entry_showings(eid)
local showing
if entry then
  for i, text in ipairs(entry.texts) do
    if text == ARGV[2] then showing = i end
  end
end
if not showing then return {'QR_UNKNOWN'} end
if entry.owner ~= owner then return {'QR_NOT_YOURS'} end
local shown = starts[showing]
if not shown then return {'QR_NOT_PROJECTED'} end
local now, now_us = now_ms()
-- Used before expired: a code used in time stays "used" (a retry), never "expired" (which costs).
-- Claimed here in one step; given back if a later check fails.
if redis.call('HSETNX', USED, eid, now) == 0 then return {'QR_ALREADY_USED'} end
local refused
if now - starts[1] > tonumber(ARGV[7]) then
  refused = 'QR_EXPIRED'
elseif entry.round ~= ARGV[4] or ARGV[5] ~= entry.round then
  refused = 'ROUND_MISMATCH'
elseif ARGV[6] ~= '1' then
  refused = 'NO_ATTEMPTS_LEFT'
end
if refused then
  redis.call('HDEL', USED, eid)
  return {refused}
end

local current = redis.call('HGET', LIVE, owner)
if ARGV[9] ~= '' then
  add_entry(ARGV[9], owner, ARGV[10], ARGV[11], ARGV[12], now_us)
  redis.call('HSET', LIVE, owner, ARGV[9])
  if not current then redis.call('EXPIREAT', LIVE, ARGV[8]) end
else
  redis.call('HDEL', LIVE, owner)
end
-- A newer copy of the same round (re-issued or reset) is no longer needed either.
local gone = (current and current ~= eid) and redis.call('ZREM', POOL, eid, current) or redis.call('ZREM', POOL, eid)
if gone == 0 and ARGV[9] ~= '' then
  -- Neither was in the pool: the next code's ZADD may have made it anew.
  redis.call('EXPIREAT', POOL, ARGV[8])
end
return {'OK', starts[1], shown, now}
