-- Creates an account hash unless it exists. Idempotent: the same creating
-- request (same fingerprint) returns 'replay'.
-- KEYS[1] account hash
-- ARGV[1] fingerprint, ARGV[2..] field, value, field, value ...
-- Returns {'created'} | {'replay'} | {'exists'}
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HGET', KEYS[1], 'fingerprint') == ARGV[1] then
    return {'replay'}
  end
  return {'exists'}
end
redis.call('HSET', KEYS[1], 'fingerprint', ARGV[1], unpack(ARGV, 2))
return {'created'}
