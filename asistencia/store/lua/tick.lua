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

-- An entry that is not to be shown again: a decoy goes (a fresh one will take
-- its place); a student's live code is handed back for re-issue (that needs the
-- student's key: the caller does it); an old code leaves the rotation.
local function retire(eid, entry)
  if entry.owner == '' then
    forget_decoy(eid)
    decoys = decoys - 1
  elseif redis.call('HGET', LIVE, entry.owner) == eid then
    redis.call('ZADD', POOL, now, eid)
    table.insert(stale, eid .. '|' .. entry.owner .. '|' .. entry.round)
  else
    redis.call('ZREM', POOL, eid)
  end
end
for _, eid in ipairs(redis.call('ZRANGE', POOL, 0, per_frame * 2 + 7)) do
  if #texts >= per_frame then break end
  local entry, starts, shows = read_entry_showings(eid)
  if not entry then
    redis.call('ZREM', POOL, eid)
  elseif #starts >= #entry.texts or (starts[1] and now - starts[1] >= stale_after) then
    -- Past the projectable part of its window, or every text shown once: not shown
    -- again (a text is never shown twice, so each showing is told apart).
    retire(eid, entry)
  else
    redis.call('HSET', ENTRY, shows_of(eid), shows and (shows .. ',' .. shown) or tostring(shown))
    redis.call('ZADD', POOL, now, eid)
    table.insert(texts, entry.texts[#starts + 1])
    if #starts + 1 == #entry.texts then
      -- Its last text: replaced right after this frame, so it leaves no gap in the rotation.
      retire(eid, entry)
    end
  end
end

local frame = table.concat(texts, '|')
redis.call('SET', FRAME, slot .. '|' .. shown .. '|' .. frame, 'PX', tick_ms * 2)
keep_until(ARGV[5])
return {now, frame, stale, math.max(0, wanted - decoys), shown}
