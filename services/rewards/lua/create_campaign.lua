-- Stores a campaign definition unless its id is taken.
-- KEYS[1] campaign definitions hash
-- ARGV[1] campaign id  ARGV[2] definition JSON  ARGV[3] request fingerprint
-- Returns {'created', json} | {'replay', json} | {'exists'}
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  if cjson.decode(current).fp == ARGV[3] then return {'replay', current} end
  return {'exists'}
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return {'created', ARGV[2]}
