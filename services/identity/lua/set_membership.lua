-- Changes a citizen's team and organisation and appends the change to the
-- dated history `mh` ([[from_ms, team, org], ...], oldest first, latest 64;
-- docs/gamification.md). The member sets live in another slot: the caller
-- updates them afterwards (SREM the groups in `before`, SADD the current
-- ones; idempotent).
-- KEYS[1] account hash
-- ARGV[1] now (ms), ARGV[2] request id, ARGV[3] fingerprint of the change,
-- ARGV[4] 'join' | 'leave_team' | 'leave_org',
-- ARGV[5] team to join ('' joins an organisation alone), ARGV[6] its organisation
-- Returns {'changed'|'unchanged'|'replay', team before, org before, HGETALL...}
--   | {'missing'} | {'not_citizen'} | {'not_in_team'} | {'not_in_org'} | {'request_reused'}
-- For 'replay' the "before" pair is the membership the latest change left
-- (the history's second-to-last element), so the caller re-applies that
-- change to the member sets: a retry heals a member-set update that failed
-- after the script succeeded.
local acct = KEYS[1]
local kRememberedRequests = 16
if redis.call('EXISTS', acct) == 0 then return {'missing'} end
if redis.call('HGET', acct, 'role') ~= 'citizen' then return {'not_citizen'} end
local team = redis.call('HGET', acct, 'team') or ''
local org = redis.call('HGET', acct, 'org') or ''
local function reply(outcome, before_team, before_org)
  local result = {outcome, before_team, before_org}
  for _, v in ipairs(redis.call('HGETALL', acct)) do result[#result + 1] = v end
  return result
end
local function history()
  local stored = redis.call('HGET', acct, 'mh')
  if stored then return cjson.decode(stored) end
  if team ~= '' or org ~= '' then
    -- An account from before the history: its membership held since sign-up.
    return {{tonumber(redis.call('HGET', acct, 'created_ms')) or 0, team, org}}
  end
  return {}
end

-- The latest membership requests, [[request id, fingerprint], ...] oldest
-- first: a retry of any of them (even after later changes) is answered with
-- the current profile and changes nothing, so a late retry of "join X" can
-- never undo a later "leave". `mreq` is the single request of older accounts.
local requests = {}
local stored_requests = redis.call('HGET', acct, 'mreqs')
if stored_requests then
  requests = cjson.decode(stored_requests)
else
  local last = redis.call('HGET', acct, 'mreq')
  local space = last and string.find(last, ' ', 1, true)
  if space then requests = {{string.sub(last, 1, space - 1), string.sub(last, space + 1)}} end
end
for _, r in ipairs(requests) do
  if r[1] == ARGV[2] then
    if r[2] ~= ARGV[3] then return {'request_reused'} end
    local h = history()
    local previous = h[#h - 1]
    if previous then return reply('replay', previous[2], previous[3]) end
    return reply('replay', '', '')
  end
end
local function remember()
  requests[#requests + 1] = {ARGV[2], ARGV[3]}
  while #requests > kRememberedRequests do table.remove(requests, 1) end
  return {'mreqs', cjson.encode(requests)}
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
if new_team == team and new_org == org then
  -- Remembered too: a late retry after a later change must not redo it.
  redis.call('HSET', acct, unpack(remember()))
  redis.call('HDEL', acct, 'mreq')
  return reply('unchanged', team, org)
end

local h = history()
-- from_ms strictly ascends, so "the element in force at time t" is unique.
local from = tonumber(ARGV[1])
if #h > 0 and h[#h][1] >= from then from = h[#h][1] + 1 end
h[#h + 1] = {from, new_team, new_org}
while #h > 64 do table.remove(h, 1) end

local fields = {'mh', cjson.encode(h)}
for _, v in ipairs(remember()) do fields[#fields + 1] = v end
redis.call('HDEL', acct, 'mreq')
for name, value in pairs({team = new_team, org = new_org}) do
  if value == '' then
    redis.call('HDEL', acct, name)
  else
    fields[#fields + 1] = name
    fields[#fields + 1] = value
  end
end
redis.call('HSET', acct, unpack(fields))
return reply('changed', team, org)
