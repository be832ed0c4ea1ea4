-- Creates a survey once (idempotent by the request that derived its id).
-- KEYS[1] survey hash
-- ARGV[1] fingerprint of the request's content, ARGV[2..] field/value pairs
-- Returns {'ok'} | {'dup'} (same request, nothing written) | {'exists'}
-- (the id was created by a request with other content)
local fp = redis.call('HGET', KEYS[1], 'fp')
if fp then
  if fp == ARGV[1] then return {'dup'} end
  return {'exists'}
end
redis.call('HSET', KEYS[1], 'fp', ARGV[1], unpack(ARGV, 2))
return {'ok'}
