-- One refresh: checks the presented secret against its family and rotates
-- it, in one atomic step in the account's slot (docs/security.md "Tokens").
-- KEYS[1] the account's families hash, KEYS[2] the account hash
-- ARGV[1] family id, ARGV[2] hash of the presented secret, ARGV[3] hash of
-- the next secret (derived from the presented one), ARGV[4] now (ms),
-- ARGV[5] lifetime (ms), ARGV[6] grace for a retried refresh (ms),
-- ARGV[7] most age of a citizen's family (ms), ARGV[8] most age of a staff or
-- admin family (ms): a family older than that (since `born`, its sign-in)
-- is refused however often it was refreshed. A family without `born`
-- (stored before the cap existed) counts as too old.
-- Returns {'rotated', role, expires_ms} | {'replayed', role, expires_ms}
-- (a retry within the grace: the same next secret, not rotated again) |
-- {'reused'} (family revoked) | {'unknown'} | {'expired'} | {'gone'} |
-- {'too_old', role} (family dropped)
local role = redis.call('HGET', KEYS[2], 'role')
if not role then return {'unknown'} end
if role == 'deleted' then
  redis.call('DEL', KEYS[1])
  return {'gone'}
end
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return {'unknown'} end
local f = cjson.decode(raw)
local now = tonumber(ARGV[4])
local max_age = tonumber(role == 'citizen' and ARGV[7] or ARGV[8])
local born = tonumber(f.born)
if not born or now - born > max_age then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return {'too_old', role}
end
if now >= tonumber(f.exp) then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return {'expired'}
end
if ARGV[2] == f.cur then
  local lifetime = tonumber(ARGV[5])
  f.prev = f.cur
  f.cur = ARGV[3]
  f.at = tostring(now)
  f.exp = tostring(math.min(now + lifetime, born + max_age))
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(f))
  if redis.call('PTTL', KEYS[1]) < lifetime then redis.call('PEXPIRE', KEYS[1], lifetime) end
  return {'rotated', role, f.exp}
end
if ARGV[2] == f.prev and ARGV[3] == f.cur and now - tonumber(f.at) <= tonumber(ARGV[6]) then
  return {'replayed', role, f.exp}
end
redis.call('HDEL', KEYS[1], ARGV[1])
return {'reused'}
