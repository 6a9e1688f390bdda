-- One projector tick: the frame of the current tick slot.
-- ARGV: tick_ms, per_frame, stale_after_ms, min_pool, keep_until
-- Returns {now_ms, "text|text…", {"entry id|owner|round", …} of codes to re-issue,
--          how many decoys the pool lacks}: the caller makes them (Lua has no
--          good randomness) and re-issues the codes (it needs the students' keys).
local tick_ms, per_frame = tonumber(ARGV[1]), tonumber(ARGV[2])
local stale_after, min_pool = tonumber(ARGV[3]), tonumber(ARGV[4])
local now = now_ms()
local slot = math.floor(now / tick_ms)

-- Every projector of a session shows the same frame during a slot, and the
-- rotation moves once per slot however many screens there are.
local cached = redis.call('GET', FRAME)
if cached then
  local sep = string.find(cached, '|', 1, true)
  if tonumber(string.sub(cached, 1, sep - 1)) == slot then
    return {now, string.sub(cached, sep + 1), {}, 0}
  end
end

-- Decoys pad the pool up to min_pool so it does not reveal how many students
-- are scanning; they give way one per tick as students join.
local decoys = redis.call('SCARD', DECOYS)
local wanted = math.max(0, min_pool - redis.call('HLEN', LIVE))
if decoys > wanted then
  forget_decoy(redis.call('SRANDMEMBER', DECOYS))
  decoys = decoys - 1
end

local texts, stale = {}, {}
for _, eid in ipairs(redis.call('ZRANGE', POOL, 0, per_frame * 2 + 7)) do
  if #texts >= per_frame then break end
  local entry = read_entry(eid)
  local first = redis.call('HGET', FIRST, eid)
  if not entry then
    redis.call('ZREM', POOL, eid)
  elseif first and now - tonumber(first) >= stale_after then
    -- Past the projectable part of its window: not shown again.
    if entry.owner == '' then
      -- A decoy ages like an unanswered code; a fresh one will take its place.
      forget_decoy(eid)
      decoys = decoys - 1
    elseif redis.call('HGET', LIVE, entry.owner) == eid then
      -- Re-issuing needs the student's key: the caller does it.
      redis.call('ZADD', POOL, now, eid)
      table.insert(stale, eid .. '|' .. entry.owner .. '|' .. entry.round)
    else
      redis.call('ZREM', POOL, eid)
    end
  else
    if not first then redis.call('HSET', FIRST, eid, now) end
    redis.call('HSET', LAST, eid, now)
    redis.call('ZADD', POOL, now, eid)
    table.insert(texts, entry.text)
  end
end

local frame = table.concat(texts, '|')
redis.call('SET', FRAME, slot .. '|' .. frame, 'PX', tick_ms * 2)
keep_until(ARGV[5])
return {now, frame, stale, math.max(0, wanted - decoys)}
