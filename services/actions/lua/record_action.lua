-- Records one action atomically: idempotency, account check, daily cap,
-- ledger append, the account's period totals and history. All keys share the
-- account's shard hash tag (one slot).
--
-- KEYS[1] account hash        KEYS[2] idempotency record  KEYS[3] ledger stream
-- KEYS[4] totals all time     KEYS[5] totals month        KEYS[6] totals week
-- KEYS[7] totals day          KEYS[8] history zset
-- KEYS[9] idempotency record of the entry this one corrects (or KEYS[2])
-- ARGV[1] request fingerprint ARGV[2] idempotency TTL (s; staff credits keep a
-- compact record for good)
-- ARGV[3] daily cap (milli-units, 0 = none)  ARGV[4] action type
-- ARGV[5] category  ARGV[6] quantity (milli)  ARGV[7] unit  ARGV[8] co2 grams
-- ARGV[9] points  ARGV[10] factor tag  ARGV[11] occurred ms  ARGV[12] recorded ms
-- ARGV[13] account id  ARGV[14] request id  ARGV[15] source ("self")
-- ARGV[16..18] EXPIREAT (unix s) of the month, week and day totals
-- ARGV[19..21] period keys of month, week, day
-- ARGV[22] event id ('' for none)  ARGV[23] staff login who logged it ('' for self)
-- ARGV[25] how the entry changes the action count: 1, or 0 for an adjustment,
--          -1 for a void
-- ARGV[24] '1' when KEYS[9] names a corrected entry: the correction is booked
--          under that entry's ward and team, not the account's current ones
-- Staff-verified credits pass cap 0 and may carry negative figures
-- (compensating corrections).
--
-- Returns {'ok', json} | {'replay', json} | {'conflict'} | {'no_account'} |
--         {'not_citizen'} | {'cap', used, cap}
local stored = redis.call('GET', KEYS[2])
if stored then
  local record = cjson.decode(stored)
  if record.fp ~= ARGV[1] then return {'conflict'} end
  return {'replay', stored}
end

local profile = redis.call('HMGET', KEYS[1], 'role', 'ward', 'team')
if not profile[1] then return {'no_account'} end
if profile[1] ~= 'citizen' then return {'not_citizen'} end
local ward = profile[2] or ''
local team = profile[3] or ''
if ARGV[24] == '1' then
  local origin = redis.call('GET', KEYS[9])
  if origin then
    local o = cjson.decode(origin)
    ward = o.ward or ''
    team = o.team or ''
  end
end

local qty = tonumber(ARGV[6])
local cap = tonumber(ARGV[3])
local cap_field = 'q:' .. ARGV[4]
if cap > 0 then
  local used = tonumber(redis.call('HGET', KEYS[7], cap_field) or '0')
  if used + qty > cap then return {'cap', tostring(used), tostring(cap)} end
end

local event = ARGV[22] or ''
local fields = {'acct', ARGV[13], 'req', ARGV[14], 'type', ARGV[4], 'cat', ARGV[5],
  'qty', ARGV[6], 'unit', ARGV[7], 'co2', ARGV[8], 'pts', ARGV[9], 'fv', ARGV[10],
  'occ', ARGV[11], 'rec', ARGV[12], 'ward', ward, 'team', team, 'src', ARGV[15]}
if event ~= '' then
  fields[#fields + 1] = 'event'
  fields[#fields + 1] = event
  fields[#fields + 1] = 'by'
  fields[#fields + 1] = ARGV[23]
end
local id = redis.call('XADD', KEYS[3], '*', unpack(fields))

local count = tonumber(ARGV[25] or '1')
local co2 = tonumber(ARGV[8])
local pts = tonumber(ARGV[9])
local cat = ARGV[5]
local totals = {}
for i = 4, 7 do
  local k = KEYS[i]
  local t = {
    co2 = redis.call('HINCRBY', k, 'co2', co2),
    pts = redis.call('HINCRBY', k, 'pts', pts),
    n = redis.call('HINCRBY', k, 'n', count),
  }
  redis.call('HINCRBY', k, 'co2:c:' .. cat, co2)
  redis.call('HINCRBY', k, 'pts:c:' .. cat, pts)
  redis.call('HINCRBY', k, 'n:c:' .. cat, count)
  if ward ~= '' then
    redis.call('HINCRBY', k, 'co2@w:' .. ward, co2)
    redis.call('HINCRBY', k, 'pts@w:' .. ward, pts)
  end
  if team ~= '' then
    redis.call('HINCRBY', k, 'co2@t:' .. team, co2)
    redis.call('HINCRBY', k, 'pts@t:' .. team, pts)
  end
  if i == 4 and event ~= '' then
    redis.call('HINCRBY', k, 'co2@e:' .. event, co2)
    redis.call('HINCRBY', k, 'pts@e:' .. event, pts)
  end
  if i > 4 then redis.call('EXPIREAT', k, ARGV[11 + i]) end
  totals[#totals + 1] = t
end
if cap > 0 then redis.call('HINCRBY', KEYS[7], cap_field, qty) end
redis.call('ZADD', KEYS[8], ARGV[11], id)

local result = cjson.encode({
  fp = ARGV[1], id = id, ward = ward, team = team,
  occ = ARGV[11], rec = ARGV[12], co2 = ARGV[8], pts = ARGV[9], fv = ARGV[10],
  qty = ARGV[6], type = ARGV[4], cat = cat, unit = ARGV[7], event = event, src = ARGV[15],
  keys = {'all', ARGV[19], ARGV[20], ARGV[21]},
  totals = totals,
})
if ARGV[15] == 'staff' then
  -- Kept for good and small: what a repeated credit and a later correction
  -- need (CloseEvent may re-run credits at any time).
  redis.call('SET', KEYS[2], cjson.encode({fp = ARGV[1], id = id, ward = ward, team = team,
                                           staff = true}))
else
  redis.call('SET', KEYS[2], result, 'EX', ARGV[2])
end
return {'ok', result}
