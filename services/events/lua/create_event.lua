-- Creates an event hash unless it exists; the same creating request
-- (fingerprint) is a replay.
-- KEYS[1] event hash   ARGV[1] fingerprint, ARGV[2..] field, value ...
-- Returns {'created'} | {'replay'} | {'exists'}
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HGET', KEYS[1], 'fingerprint') == ARGV[1] then return {'replay'} end
  return {'exists'}
end
redis.call('HSET', KEYS[1], 'fingerprint', ARGV[1], unpack(ARGV, 2))
return {'created'}
