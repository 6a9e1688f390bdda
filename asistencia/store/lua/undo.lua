-- Give back a consumed QR when its round could not be recorded, so the
-- student is not stuck: the QR is unused and live again, the next one gone.
-- ARGV: entry id, owner, next entry id ("" if none), keep_until
local eid, owner, next_eid = ARGV[1], ARGV[2], ARGV[3]
redis.call('HDEL', USED, eid)
if next_eid ~= '' then
  redis.call('ZREM', POOL, next_eid)
  redis.call('HDEL', ENTRY, next_eid, shows_of(next_eid))
end
local current = redis.call('HGET', LIVE, owner)
if not current or current == next_eid then
  redis.call('HSET', LIVE, owner, eid)
  local starts = showings(eid)
  redis.call('ZADD', POOL, starts[#starts] or 0, eid)
end
keep_until(ARGV[4])
return 1
