-- Check a submitted QR and, if every check passes, use it up: atomically, so
-- two submissions of one QR give exactly one success.
-- ARGV: entry id, text, owner, expected round, proof round,
--       attempts left (1/0), window_ms, keep_until,
--       next entry id ("" on the last round), next round, next key id, next texts ("a,b,…")
-- Checks run in SPEC §3.5 order; the first that fails is returned as {code}.
-- Success returns {"OK", first projection ms, start of the answered showing ms, receipt ms}:
-- the text says which showing it was (every showing projects a text of its own).
local eid, owner = ARGV[1], ARGV[3]
local entry = read_entry(eid)
local showing
if entry then
  for i, text in ipairs(entry.texts) do
    if text == ARGV[2] then showing = i end
  end
end
if not showing then return {'QR_UNKNOWN'} end
if entry.owner ~= owner then return {'QR_NOT_YOURS'} end
local starts = showings(eid)
local shown = starts[showing]
if not shown then return {'QR_NOT_PROJECTED'} end
-- Used before expired: a code used in time stays "used" (a retry), never "expired" (which costs).
if redis.call('HEXISTS', USED, eid) == 1 then return {'QR_ALREADY_USED'} end
local now = now_ms()
if now - starts[1] > tonumber(ARGV[7]) then return {'QR_EXPIRED'} end
if entry.round ~= ARGV[4] or ARGV[5] ~= entry.round then return {'ROUND_MISMATCH'} end
if ARGV[6] ~= '1' then return {'NO_ATTEMPTS_LEFT'} end

redis.call('HSET', USED, eid, now)
redis.call('ZREM', POOL, eid)
local current = redis.call('HGET', LIVE, owner)
if current and current ~= eid then
  -- A newer copy of the same round (re-issued or reset) is no longer needed.
  redis.call('ZREM', POOL, current)
end
if ARGV[9] ~= '' then
  add_entry(ARGV[9], owner, ARGV[10], ARGV[11], ARGV[12])
  redis.call('HSET', LIVE, owner, ARGV[9])
else
  redis.call('HDEL', LIVE, owner)
end
keep_until(ARGV[8])
return {'OK', starts[1], shown, now}
