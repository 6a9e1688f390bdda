-- Put a student's QR for a round in the pool, as the student's live QR.
-- ARGV: mode, owner, round, key id, entry id, texts ("a,b,…"), stale_after_ms, keep_until, replaced entry id
-- mode "ensure": keep the live QR if it is for this round and key, unused and
--                still projectable (joining twice never makes a second one);
--      "fresh":   always a new one (a professor's reset);
--      "replace": only if the live QR is still the replaced one (re-issuing a stale code).
-- Whatever the mode, a live QR for a later round that was never projected is kept.
-- Returns {1, entry id} when added, {0, live entry id or ""} when not.
local mode, owner, round, kid, eid, texts = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local current = redis.call('HGET', LIVE, owner)
if mode == 'replace' and current ~= ARGV[9] then
  return {0, current or ''}
end
local live = current and read_entry(current)
if live and live.round ~= '' and tonumber(live.round) > tonumber(round)
    and not first_shown(current) then
  -- A later round not yet projected: a consume just put it there and its pass is
  -- being committed (a failed pass's undo gives the earlier QR back). A join or
  -- reset that read the round before that commit must not replace it. Once
  -- projected, it is replaced as usual: that is how a join repairs a pool whose
  -- undo failed (Valkey down) and left a round the student is not on.
  return {0, current}
end
if mode == 'ensure' and current then
  local entry = read_entry(current)
  local first = first_shown(current)
  if entry and entry.round == round and entry.kid == kid
      and (not first or now_ms() - first < tonumber(ARGV[7]))
      and redis.call('ZSCORE', POOL, current) and redis.call('HEXISTS', USED, current) == 0 then
    return {0, current}
  end
end
if current then
  redis.call('ZREM', POOL, current)
end
local _, created_us = now_ms()
add_entry(eid, owner, round, kid, texts, created_us)
redis.call('HSET', LIVE, owner, eid)
keep_until(ARGV[8])
return {1, eid}
