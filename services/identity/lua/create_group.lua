-- Creates a team or an organisation with its join code, unless the id
-- exists. Idempotent: the same creating request (same fingerprint) gets the
-- stored group back. The join code is claimed with SET NX in the same slot,
-- so two groups never share a code.
-- KEYS[1] group hash, KEYS[2] join code key, KEYS[3] set of ids,
-- KEYS[4] member set, KEYS[5] (teams in an organisation) organisation hash
-- ARGV[1] id, ARGV[2] fingerprint, ARGV[3] code value ('team:<id>' | 'org:<id>'),
-- ARGV[4] code, ARGV[5] name, ARGV[6] created_ms, ARGV[7] organisation id or ''
-- Returns {'created'|'replay', member count, HGETALL...} | {'exists'} | {'no_org'}
--   | {'code_taken'}
local function reply(outcome)
  local result = {outcome, redis.call('SCARD', KEYS[4])}
  for _, v in ipairs(redis.call('HGETALL', KEYS[1])) do result[#result + 1] = v end
  return result
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HGET', KEYS[1], 'fp') ~= ARGV[2] then return {'exists'} end
  return reply('replay')
end
if KEYS[5] and redis.call('EXISTS', KEYS[5]) == 0 then return {'no_org'} end
if not redis.call('SET', KEYS[2], ARGV[3], 'NX') then return {'code_taken'} end
redis.call('HSET', KEYS[1], 'name', ARGV[5], 'code', ARGV[4], 'created_ms', ARGV[6], 'fp', ARGV[2])
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'org', ARGV[7]) end
redis.call('SADD', KEYS[3], ARGV[1])
return reply('created')
