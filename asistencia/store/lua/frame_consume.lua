-- Check a scan of a shared frame and, if every check passes, record it: atomically,
-- so two submissions of one frame by one student give exactly one success.
-- ARGV: nonce (hex), text, student, expected round, proof round, attempts left (1/0),
--       window_ms, round_gap_seconds, keep_until
-- Checks in docs/protocol.md §8 order; the first that fails is returned as {code}.
-- Success: {"OK", start of the frame's showing ms, receipt ms, the student's previous answer or ""}.
local nonce, text, student = ARGV[1], ARGV[2], ARGV[3]
local record = redis.call('HGET', FRAMES, nonce)
local issued_at, shown, projected
if record then
  issued_at, shown, projected = string.match(record, '^(%d+)|(%d+)|(.*)$')
end
-- A text no projector showed (made by someone holding the projection key).
if not record or projected ~= text then return {'QR_NOT_PROJECTED'} end
if redis.call('HEXISTS', USED, student .. '|' .. nonce) == 1 then return {'QR_ALREADY_USED'} end
local now = now_ms()
if now - tonumber(shown) > tonumber(ARGV[7]) then return {'QR_EXPIRED'} end
if ARGV[4] ~= ARGV[5] then return {'ROUND_MISMATCH'} end
local previous = redis.call('HGET', ANSWERS, student)
if previous then
  local answered_round, answered_at = string.match(previous, '^(%d+)|(%d+)$')
  if tonumber(answered_round) >= tonumber(ARGV[4]) then return {'ROUND_MISMATCH'} end
  if tonumber(issued_at) - tonumber(answered_at) < tonumber(ARGV[8]) then return {'FRAME_TOO_SOON'} end
end
if ARGV[6] ~= '1' then return {'NO_ATTEMPTS_LEFT'} end

redis.call('HSET', USED, student .. '|' .. nonce, now)
redis.call('HSET', ANSWERS, student, ARGV[4] .. '|' .. issued_at)
keep_until(ARGV[9])
return {'OK', tonumber(shown), now, previous or ''}
