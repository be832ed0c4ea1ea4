-- Records one action atomically: idempotency, account check, daily cap,
-- ledger append, the account's period totals and history, the shard's group
-- aggregates, the account's streak and badges. All keys share the account's
-- shard hash tag (one slot). docs/gamification.md is the contract.
--
-- KEYS[1] account hash        KEYS[2] idempotency record  KEYS[3] ledger stream
-- KEYS[4] totals all time     KEYS[5] totals month        KEYS[6] totals week
-- KEYS[7] totals day          KEYS[8] history zset
-- KEYS[9] idempotency record of the entry this one corrects (or KEYS[2])
-- KEYS[10..13] shard aggregates all time, month, week, day (agg:<period>)
-- KEYS[14] the account's active-day bitmap  KEYS[15] its streak hash
-- KEYS[16] its badges hash
-- ARGV[1] request fingerprint ARGV[2] idempotency TTL (s; staff credits keep a
-- compact record for good)
-- ARGV[3] daily cap (milli-units, 0 = none)  ARGV[4] action type
-- ARGV[5] category  ARGV[6] quantity (milli)  ARGV[7] unit  ARGV[8] co2 grams
-- ARGV[9] points (campaign bonus included)  ARGV[10] factor tag
-- ARGV[11] occurred ms  ARGV[12] recorded ms
-- ARGV[13] account id  ARGV[14] request id  ARGV[15] source ("self")
-- ARGV[16..18] EXPIREAT (unix s) of the month, week and day totals
-- ARGV[19..21] period keys of month, week, day
-- ARGV[22] event id ('' for none)  ARGV[23] staff login who logged it ('' for self)
-- ARGV[24] '1' when KEYS[9] names a corrected entry: the correction is booked
--          under that entry's ward, team and organisation, not the current ones
-- ARGV[25] how the entry changes the action count: 1, or 0 for an adjustment,
--          -1 for a void
-- ARGV[26] local day number of the occurred time (days since 2000-01-01 in
--          the city's time zone; computed by C++ from CityCalendar)
-- ARGV[27] badge rules 'id=f>=n&f+g>=n;id2=...' (fields of the all-time
--          totals after this entry, or streak_best)
-- ARGV[28] comma-separated ids of the campaigns the action matched ('' none)
-- ARGV[29] campaign bonus points (already included in ARGV[9])
-- Staff-verified credits pass cap 0 and may carry negative figures
-- (compensating corrections).
--
-- Returns {'ok', json} | {'replay', json} | {'conflict'} | {'no_account'} |
--         {'deleted'} | {'not_citizen'} | {'cap', used, cap}
local stored = redis.call('GET', KEYS[2])
if stored then
  local record = cjson.decode(stored)
  if record.fp ~= ARGV[1] then return {'conflict'} end
  return {'replay', stored}
end

local occ = tonumber(ARGV[11])
local profile = redis.call('HMGET', KEYS[1], 'role', 'ward', 'team', 'org', 'mh')
if not profile[1] then return {'no_account'} end
-- A tombstone of DeleteMyAccount: its tokens may still be unexpired.
if profile[1] == 'deleted' then return {'deleted'} end
if profile[1] ~= 'citizen' then return {'not_citizen'} end
local ward = profile[2] or ''
local team = profile[3] or ''
local org = profile[4] or ''
if profile[5] then
  -- Booked to the membership in force when the action occurred, so a move
  -- never carries earlier actions to the new team.
  team, org = '', ''
  local ok, history = pcall(cjson.decode, profile[5])
  if ok and type(history) == 'table' then
    for _, m in ipairs(history) do
      if type(m) == 'table' and tonumber(m[1]) and tonumber(m[1]) <= occ then
        team = type(m[2]) == 'string' and m[2] or ''
        org = type(m[3]) == 'string' and m[3] or ''
      end
    end
  end
end
if ARGV[24] == '1' then
  local origin = redis.call('GET', KEYS[9])
  if origin then
    local o = cjson.decode(origin)
    ward = o.ward or ''
    team = o.team or ''
    org = o.org or ''
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
local count = tonumber(ARGV[25] or '1')
local camps = {}
for c in string.gmatch(ARGV[28] or '', '[^,]+') do camps[#camps + 1] = c end
local bonus = tonumber(ARGV[29] or '0')
local fields = {'acct', ARGV[13], 'req', ARGV[14], 'type', ARGV[4], 'cat', ARGV[5],
  'qty', ARGV[6], 'unit', ARGV[7], 'co2', ARGV[8], 'pts', ARGV[9], 'fv', ARGV[10],
  'occ', ARGV[11], 'rec', ARGV[12], 'ward', ward, 'team', team, 'src', ARGV[15]}
local function add(f, v) fields[#fields + 1] = f; fields[#fields + 1] = v end
-- Optional fields only when set: every entry carries its fields for good.
if org ~= '' then add('org', org) end
if #camps > 0 then add('camp', ARGV[28]) end
if bonus ~= 0 then add('bonus', ARGV[29]) end
if count ~= 1 then add('cnt', tostring(count)) end
if event ~= '' then
  add('event', event)
  add('by', ARGV[23])
end
local id = redis.call('XADD', KEYS[3], '*', unpack(fields))

local co2 = tonumber(ARGV[8])
local pts = tonumber(ARGV[9])
local cat = ARGV[5]
local totals = {}
for i = 4, 7 do
  local k = KEYS[i]
  local agg = KEYS[i + 6]
  -- A group's active-member count grows when this account's own totals for
  -- the period have no field of that group yet (checked before the write).
  local function group(suffix, probe)
    if redis.call('HEXISTS', k, probe) == 0 then
      redis.call('HINCRBY', agg, 'act' .. suffix, 1)
    end
    redis.call('HINCRBY', k, 'co2' .. suffix, co2)
    redis.call('HINCRBY', k, 'pts' .. suffix, pts)
    redis.call('HINCRBY', agg, 'co2' .. suffix, co2)
    redis.call('HINCRBY', agg, 'pts' .. suffix, pts)
  end
  local city_new = redis.call('HEXISTS', k, 'n') == 0
  local t = {
    co2 = redis.call('HINCRBY', k, 'co2', co2),
    pts = redis.call('HINCRBY', k, 'pts', pts),
    n = redis.call('HINCRBY', k, 'n', count),
  }
  if city_new then redis.call('HINCRBY', agg, 'act', 1) end
  redis.call('HINCRBY', agg, 'co2', co2)
  redis.call('HINCRBY', agg, 'pts', pts)
  redis.call('HINCRBY', agg, 'n', count)
  redis.call('HINCRBY', k, 'co2:c:' .. cat, co2)
  redis.call('HINCRBY', k, 'pts:c:' .. cat, pts)
  redis.call('HINCRBY', k, 'n:c:' .. cat, count)
  if ward ~= '' then group('@w:' .. ward, 'co2@w:' .. ward) end
  if team ~= '' then group('@t:' .. team, 'co2@t:' .. team) end
  if org ~= '' then group('@o:' .. org, 'co2@o:' .. org) end
  if i == 4 then
    if event ~= '' then
      redis.call('HINCRBY', k, 'co2@e:' .. event, co2)
      redis.call('HINCRBY', k, 'pts@e:' .. event, pts)
      redis.call('HINCRBY', k, 'n@e', count)
    end
    for _, c in ipairs(camps) do
      if redis.call('HEXISTS', k, 'n@c:' .. c) == 0 then
        redis.call('HINCRBY', agg, 'act@c:' .. c, 1)
      end
      redis.call('HINCRBY', k, 'co2@c:' .. c, co2)
      redis.call('HINCRBY', k, 'pts@c:' .. c, pts)
      redis.call('HINCRBY', k, 'n@c:' .. c, count)
      redis.call('HINCRBY', agg, 'co2@c:' .. c, co2)
      redis.call('HINCRBY', agg, 'pts@c:' .. c, pts)
    end
    redis.call('HINCRBY', k, 'q:' .. ARGV[4], qty)
    redis.call('HINCRBY', k, 'n:t:' .. ARGV[4], count)
  end
  if i > 4 then
    redis.call('EXPIREAT', k, ARGV[11 + i])
    redis.call('EXPIREAT', agg, ARGV[11 + i])
  end
  totals[#totals + 1] = t
end
if cap > 0 then redis.call('HINCRBY', KEYS[7], cap_field, qty) end
redis.call('ZADD', KEYS[8], ARGV[11], id)

-- Streak: only a real action (count 1) makes a day active; voids and
-- adjustments do not. `cur` is the run ending at `last`; a backdated action
-- filling a gap joins the runs on both sides (loops stop at the first
-- inactive day, so they are bounded by the runs' lengths).
local day = tonumber(ARGV[26])
local st = redis.call('HMGET', KEYS[15], 'last', 'cur', 'best')
local last, cur, best = tonumber(st[1]), tonumber(st[2]) or 0, tonumber(st[3]) or 0
if count == 1 and redis.call('SETBIT', KEYS[14], day, 1) == 0 then
  if not last or day > last then
    if last and day == last + 1 then cur = cur + 1 else cur = 1 end
    last = day
    if cur > best then best = cur end
  else
    local left, right = 0, 0
    while day - left - 1 >= 0 and redis.call('GETBIT', KEYS[14], day - left - 1) == 1 do
      left = left + 1
    end
    while day + right + 1 <= last and redis.call('GETBIT', KEYS[14], day + right + 1) == 1 do
      right = right + 1
    end
    local run = left + 1 + right
    if day + right == last then cur = run end
    if run > best then best = run end
  end
  redis.call('HSET', KEYS[15], 'last', last, 'cur', cur, 'best', best)
end

-- Badges: evaluated on the all-time totals after this entry, awarded once
-- (HSETNX) with the entry that earned them.
local earned = {}
local values = {}
local function value(f)
  if f == 'streak_best' then return best end
  if values[f] == nil then values[f] = tonumber(redis.call('HGET', KEYS[4], f) or '0') end
  return values[f]
end
for rule in string.gmatch(ARGV[27] or '', '[^;]+') do
  local badge, conds = string.match(rule, '^([^=]+)=(.+)$')
  if badge and redis.call('HEXISTS', KEYS[16], badge) == 0 then
    local holds = true
    for cond in string.gmatch(conds, '[^&]+') do
      local lhs, threshold = string.match(cond, '^(.+)>=(%-?%d+)$')
      local sum = 0
      if lhs then
        for f in string.gmatch(lhs, '[^+]+') do sum = sum + value(f) end
      end
      if not lhs or sum < tonumber(threshold) then holds = false; break end
    end
    if holds then
      redis.call('HSETNX', KEYS[16], badge,
                 '{"at":' .. ARGV[12] .. ',"entry":"' .. id .. '"}')
      earned[#earned + 1] = badge
    end
  end
end

local result = cjson.encode({
  fp = ARGV[1], id = id, ward = ward, team = team, org = org,
  occ = ARGV[11], rec = ARGV[12], co2 = ARGV[8], pts = ARGV[9], fv = ARGV[10],
  qty = ARGV[6], type = ARGV[4], cat = cat, unit = ARGV[7], event = event, src = ARGV[15],
  camp = ARGV[28] or '', bonus = ARGV[29] or '0',
  keys = {'all', ARGV[19], ARGV[20], ARGV[21]},
  totals = totals,
  badges = earned,
  streak = {last = last or -1, cur = cur, best = best},
})
if ARGV[15] == 'staff' then
  -- Kept for good and small: what a repeated credit and a later correction
  -- need (CloseEvent may re-run credits at any time).
  redis.call('SET', KEYS[2], cjson.encode({fp = ARGV[1], id = id, ward = ward, team = team,
                                           org = org, staff = true}))
else
  redis.call('SET', KEYS[2], result, 'EX', ARGV[2])
end
return {'ok', result}
