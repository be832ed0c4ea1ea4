-- Erases a citizen's profile and leaves a tombstone (`role` = deleted), and
-- deletes the rewards kept next to the account (badges, streak, active
-- days) and every refresh token family (sign-in) of the account, in one
-- atomic step in the account's shard slot. The ledger entries,
-- totals and history index stay (docs/security.md). The member sets, event
-- check-ins and boards live in other slots: the caller handles them.
-- KEYS[1] account hash, KEYS[2] badges, KEYS[3] streak, KEYS[4] active days,
-- KEYS[5] refresh token families
-- ARGV[1] request id, ARGV[2] now (ms)
-- Returns {'deleted', team before, org before} | {'replay'} (already deleted
-- by this request id) | {'gone'} (deleted by another request id) |
-- {'missing'} | {'not_citizen'}
local acct = KEYS[1]
if redis.call('EXISTS', acct) == 0 then return {'missing'} end
local role = redis.call('HGET', acct, 'role')
if role == 'deleted' then
  if redis.call('HGET', acct, 'dreq') == ARGV[1] then
    redis.call('DEL', KEYS[5])  -- heals tombstones whose families outlived them
    return {'replay'}
  end
  return {'gone'}
end
if role ~= 'citizen' then return {'not_citizen'} end
local team = redis.call('HGET', acct, 'team') or ''
local org = redis.call('HGET', acct, 'org') or ''
redis.call('DEL', acct, KEYS[2], KEYS[3], KEYS[4], KEYS[5])
redis.call('HSET', acct, 'role', 'deleted', 'deleted_ms', ARGV[2], 'dreq', ARGV[1])
return {'deleted', team, org}
