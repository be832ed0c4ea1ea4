-- Stores one citizen's answers to one survey wave, in one step: the
-- idempotency check, the status and wave-window check, the amendment limit
-- and the write.
-- KEYS[1] survey hash  KEYS[2] responses hash (account -> answers JSON)
-- KEYS[3] revisions hash (account -> count)
-- KEYS[4] the account's requests hash (request id -> "<fp> <rev> <ms> <amended>")
-- ARGV[1] account  ARGV[2] request id  ARGV[3] fingerprint  ARGV[4] now (ms)
-- ARGV[5] wave name  ARGV[6] answers JSON  ARGV[7] most revisions allowed
-- Returns {'ok', rev, ms, amended} | {'replay', rev, ms, amended} | {'reused'}
-- | {'missing'} | {'draft'} | {'nowave'} | {'early', opens ms}
-- | {'closed', closes ms} | {'limit'}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
local req = ARGV[2]
local seen = redis.call('HGET', KEYS[4], req)
if seen then
  local fp, rev, ms, amended = string.match(seen, '^(%S+) (%d+) (%d+) (%d)$')
  if fp ~= ARGV[3] then return {'reused'} end
  return {'replay', rev, ms, amended}
end
if status ~= 'published' then return {'draft'} end
local opens = redis.call('HGET', KEYS[1], ARGV[5] .. '_open')
local closes = redis.call('HGET', KEYS[1], ARGV[5] .. '_close')
if not opens or not closes then return {'nowave'} end
local now = tonumber(ARGV[4])
if now < tonumber(opens) then return {'early', opens} end
if now >= tonumber(closes) then return {'closed', closes} end
local rev = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
if rev >= tonumber(ARGV[7]) then return {'limit'} end
rev = rev + 1
local amended = '0'
if rev > 1 then amended = '1' end
redis.call('HSET', KEYS[3], ARGV[1], rev)
redis.call('HSET', KEYS[2], ARGV[1], ARGV[6])
redis.call('HSET', KEYS[4], req, ARGV[3] .. ' ' .. rev .. ' ' .. ARGV[4] .. ' ' .. amended)
return {'ok', tostring(rev), ARGV[4], amended}
