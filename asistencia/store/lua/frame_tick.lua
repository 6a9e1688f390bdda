-- One projector tick of a shared-frame session: the frame of the current tick slot.
-- ARGV: tick_ms, showing offset (ms into the slot), keep_until, forget_after_ms,
--       candidate nonce (hex), candidate issued_at, candidate text
-- The caller seals a candidate frame (Lua has no AES); it becomes the slot's
-- frame only if no process has made one for this slot yet, so every projector
-- of the session shows the same frame in a slot.
-- Returns {now_ms, text, start of the frame's showing (ms)}.
local tick_ms = tonumber(ARGV[1])
local now = now_ms()
local slot = math.floor(now / tick_ms)
local shown = math.max(now, slot * tick_ms + tonumber(ARGV[2]))

local cached = redis.call('GET', SLOT)
if cached then
  local cached_slot, cached_shown, cached_text = string.match(cached, '^(%d+)|(%d+)|(.*)$')
  if tonumber(cached_slot) == slot then
    return {now, cached_text, tonumber(cached_shown)}
  end
end

local nonce, issued_at, text = ARGV[5], ARGV[6], ARGV[7]
redis.call('HSET', FRAMES, nonce, issued_at .. '|' .. shown .. '|' .. text)
redis.call('ZADD', TIMES, shown, nonce)
redis.call('SET', SLOT, slot .. '|' .. shown .. '|' .. text, 'PX', tick_ms * 2)
-- Frames long past their window are refused as never shown from then on: memory
-- stays bounded by the window, not by the session's length.
for _, old in ipairs(redis.call('ZRANGEBYSCORE', TIMES, '-inf', now - tonumber(ARGV[4]))) do
  redis.call('HDEL', FRAMES, old)
  redis.call('ZREM', TIMES, old)
end
keep_until(ARGV[3])
return {now, text, shown}
