-- Changes a citizen's team and organisation and appends the change to the
-- dated history `mh` ([[from_ms, team, org], ...], oldest first, latest 64;
-- docs/gamification.md). The member sets live in another slot: the caller
-- updates them afterwards (SADD/SREM, idempotent).
-- KEYS[1] account hash
-- ARGV[1] now (ms), ARGV[2] request id, ARGV[3] fingerprint of the change,
-- ARGV[4] 'join' | 'leave_team' | 'leave_org',
-- ARGV[5] team to join ('' joins an organisation alone), ARGV[6] its organisation
-- Returns {'changed'|'unchanged'|'replay', team before, org before, HGETALL...}
--   | {'missing'} | {'not_citizen'} | {'not_in_team'} | {'not_in_org'} | {'request_reused'}
local acct = KEYS[1]
if redis.call('EXISTS', acct) == 0 then return {'missing'} end
if redis.call('HGET', acct, 'role') ~= 'citizen' then return {'not_citizen'} end
local team = redis.call('HGET', acct, 'team') or ''
local org = redis.call('HGET', acct, 'org') or ''
local function reply(outcome)
  local result = {outcome, team, org}
  for _, v in ipairs(redis.call('HGETALL', acct)) do result[#result + 1] = v end
  return result
end

-- The latest change's request id and fingerprint: a retry of it is answered
-- with the current profile instead of failing ("not in a team").
local last = redis.call('HGET', acct, 'mreq')
if last then
  local space = string.find(last, ' ', 1, true)
  if space and string.sub(last, 1, space - 1) == ARGV[2] then
    if string.sub(last, space + 1) == ARGV[3] then return reply('replay') end
    return {'request_reused'}
  end
end

local new_team, new_org
if ARGV[4] == 'join' then
  new_team, new_org = ARGV[5], ARGV[6]
  -- Joining an organisation directly keeps a team of that organisation.
  if new_team == '' and org == new_org then new_team = team end
elseif ARGV[4] == 'leave_team' then
  if team == '' then return {'not_in_team'} end
  new_team, new_org = '', org
else
  if org == '' then return {'not_in_org'} end
  new_team, new_org = '', ''
end
if new_team == team and new_org == org then return reply('unchanged') end

local history = {}
local stored = redis.call('HGET', acct, 'mh')
if stored then
  history = cjson.decode(stored)
elseif team ~= '' or org ~= '' then
  -- An account from before the history: its membership held since sign-up.
  history = {{tonumber(redis.call('HGET', acct, 'created_ms')) or 0, team, org}}
end
-- from_ms strictly ascends, so "the element in force at time t" is unique.
local from = tonumber(ARGV[1])
if #history > 0 and history[#history][1] >= from then from = history[#history][1] + 1 end
history[#history + 1] = {from, new_team, new_org}
while #history > 64 do table.remove(history, 1) end

local fields = {'mh', cjson.encode(history), 'mreq', ARGV[2] .. ' ' .. ARGV[3]}
for name, value in pairs({team = new_team, org = new_org}) do
  if value == '' then
    redis.call('HDEL', acct, name)
  else
    fields[#fields + 1] = name
    fields[#fields + 1] = value
  end
end
redis.call('HSET', acct, unpack(fields))
return reply('changed')
