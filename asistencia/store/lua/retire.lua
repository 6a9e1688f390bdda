-- Take a student's live QR out of the projection (failed, or no key to
-- re-issue it with). ARGV: owner, only this entry id ("" for whatever is live)
-- Returns the retired entry id, or "".
local current = redis.call('HGET', LIVE, ARGV[1])
if not current or (ARGV[2] ~= '' and current ~= ARGV[2]) then
  return ''
end
redis.call('ZREM', POOL, current)
redis.call('HDEL', LIVE, ARGV[1])
return current
