-- One projector tick: the frame of the current tick slot.
-- ARGV: tick_ms, per_frame, stale_after_ms, min_pool, keep_until,
--       showing offset (ms into the slot at which the frame goes on screen)
-- Returns {now_ms, "text|text…", {"entry id|owner|round", …} of codes to re-issue,
--          how many decoys the pool lacks, start of the frame's showing (ms)}: the
--          caller makes the decoys (Lua has no good randomness) and re-issues the
--          codes (it needs the students' keys).
local tick_ms, per_frame = tonumber(ARGV[1]), tonumber(ARGV[2])
local stale_after, min_pool = tonumber(ARGV[3]), tonumber(ARGV[4])
local now = now_ms()
local slot = math.floor(now / tick_ms)
-- Screens show the slot's frame at its offset in the slot; a frame made later
-- than that cannot be on screen before it is made.
local shown = math.max(now, slot * tick_ms + tonumber(ARGV[6]))

-- Every projector of a session shows the same frame during a slot, and the
-- rotation moves once per slot however many screens there are.
local cached = redis.call('GET', FRAME)
if cached then
  local cached_slot, cached_shown, cached_texts = string.match(cached, '^(%d+)|(%d+)|(.*)$')
  if tonumber(cached_slot) == slot then
    return {now, cached_texts, {}, 0, tonumber(cached_shown)}
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
  local starts, shows
  if entry then starts, shows = showings(eid) end
  if not entry then
    redis.call('ZREM', POOL, eid)
  elseif #starts >= #entry.texts or (starts[1] and now - starts[1] >= stale_after) then
    -- Past the projectable part of its window, or every text shown once: not shown
    -- again (a text is never shown twice, so each showing is told apart).
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
    redis.call('HSET', SHOWS, eid, shows and (shows .. ',' .. shown) or tostring(shown))
    redis.call('ZADD', POOL, now, eid)
    table.insert(texts, entry.texts[#starts + 1])
  end
end

local frame = table.concat(texts, '|')
redis.call('SET', FRAME, slot .. '|' .. shown .. '|' .. frame, 'PX', tick_ms * 2)
keep_until(ARGV[5])
return {now, frame, stale, math.max(0, wanted - decoys), shown}
