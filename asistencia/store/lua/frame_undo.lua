-- Give back a recorded frame answer when its round could not be recorded in
-- PostgreSQL: the frame is unused again and the student's previous answer restored.
-- ARGV: nonce (hex), student, previous answer ("" if none)
redis.call('HDEL', USED, ARGV[2] .. '|' .. ARGV[1])
if ARGV[3] == '' then
  redis.call('HDEL', ANSWERS, ARGV[2])
else
  redis.call('HSET', ANSWERS, ARGV[2], ARGV[3])
end
return 1
