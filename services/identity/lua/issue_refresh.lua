-- Starts a refresh token family (one sign-in) for an account that exists and
-- is not deleted. Drops the account's expired families and, beyond the cap,
-- those that expire first, so the hash stays small.
-- KEYS[1] the account's families hash, KEYS[2] the account hash
-- ARGV[1] family id, ARGV[2] hash of its first secret, ARGV[3] now (ms),
-- ARGV[4] lifetime (ms), ARGV[5] most families kept per account,
-- ARGV[6] most age of a citizen's family (ms), ARGV[7] of a staff or admin
-- family (ms): the family records its birth (`born`) and never outlives it
-- Returns {'issued', expires_ms} | {'gone'}
local role = redis.call('HGET', KEYS[2], 'role')
if not role or role == 'deleted' then return {'gone'} end
local now = tonumber(ARGV[3])
local lifetime = tonumber(ARGV[4])
local all = redis.call('HGETALL', KEYS[1])
local live = {}
for i = 1, #all, 2 do
  local exp = tonumber(cjson.decode(all[i + 1]).exp)
  if exp <= now then
    redis.call('HDEL', KEYS[1], all[i])
  else
    table.insert(live, {all[i], exp})
  end
end
table.sort(live, function(a, b) return a[2] < b[2] end)
for i = 1, #live - tonumber(ARGV[5]) + 1 do redis.call('HDEL', KEYS[1], live[i][1]) end
local max_age = tonumber(role == 'citizen' and ARGV[6] or ARGV[7])
local exp = now + math.min(lifetime, max_age)
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({cur = ARGV[2], prev = '', at = tostring(now),
  born = tostring(now), exp = tostring(exp)}))
if redis.call('PTTL', KEYS[1]) < lifetime then redis.call('PEXPIRE', KEYS[1], lifetime) end
return {'issued', tostring(exp)}
