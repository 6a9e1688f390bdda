-- Prepended to every shared-frame script. One session's shared frames live in
-- these keys, declared by the caller in this order:
--   frames  HASH   nonce (hex) -> "issued_at|showing start ms|text": every frame projected
--   times   ZSET   nonce (hex) -> showing start ms (to forget frames long expired)
--   used    HASH   "student|nonce" -> accepted scan (ms): a frame answers one round of a student once
--   answers HASH   student -> "round|issued_at" of the frame that passed the student's latest round
--   slot    STRING "slot|showing start|text": the frame of the current tick slot
local FRAMES, TIMES, USED, ANSWERS, SLOT = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]

-- Valkey's clock is the one clock, as for the per-student pool (common.lua).
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function keep_until(at)
  for i = 1, 5 do redis.call('EXPIREAT', KEYS[i], at) end
end
