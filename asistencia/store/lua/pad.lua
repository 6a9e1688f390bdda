-- Fill a new session's pool with decoys.
-- ARGV: keep_until, then (entry id, texts "a,b,…") pairs.
-- One µs apart, in the order given.
local _, created_us = now_ms()
for i = 2, #ARGV, 2 do
  add_decoy(ARGV[i], ARGV[i + 1], created_us + i)
end
keep_until(ARGV[1])
return redis.call('ZCARD', POOL)
