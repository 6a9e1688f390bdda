-- Fill a new session's pool with decoys.
-- ARGV: keep_until, then (entry id, texts "a,b,…") pairs.
for i = 2, #ARGV, 2 do
  add_decoy(ARGV[i], ARGV[i + 1])
end
keep_until(ARGV[1])
return redis.call('ZCARD', POOL)
