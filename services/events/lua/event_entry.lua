-- Records one weigh-in (attributed or anonymous) in the event's own ledger,
-- atomically with the idempotency record, the status and check-in checks,
-- the mass balance and the event totals. All keys share the event's tag.
--
-- KEYS[1] event hash  KEYS[2] entries hash (client entry id -> JSON)
-- KEYS[3] event totals hash  KEYS[4] event ledger stream  KEYS[5] check-ins
-- ARGV[1] client entry id  ARGV[2] fingerprint  ARGV[3] allowed statuses
-- ("open" or "open,closed")  ARGV[4] participant ('' = anonymous)
-- ARGV[5] action type  ARGV[6] grams  ARGV[7] co2 grams  ARGV[8] points
-- ARGV[9] factor tag  ARGV[10] occurred ms  ARGV[11] received ms
-- ARGV[12] staff login  ARGV[13] mg CO2e per kg and ARGV[14] points per kg
-- in force when weighed (a later adjustment is priced with them)
--
-- Returns {'ok', json} | {'dup', json} | {'conflict'} | {'missing'} |
--   {'status', status} | {'not_checked_in'} | {'mass', logged, closing}
local stored = redis.call('HGET', KEYS[2], ARGV[1])
if stored then
  local record = cjson.decode(stored)
  if record.fp ~= ARGV[2] then return {'conflict'} end
  return {'dup', stored}
end
local event = redis.call('HMGET', KEYS[1], 'status', 'close:' .. ARGV[5])
if not event[1] then return {'missing'} end
local allowed = false
for s in string.gmatch(ARGV[3], '[^,]+') do
  if s == event[1] then allowed = true end
end
if not allowed then return {'status', event[1]} end
local participant = ARGV[4]
if participant ~= '' and redis.call('HEXISTS', KEYS[5], participant) == 0 then
  return {'not_checked_in'}
end
local grams = tonumber(ARGV[6])
local logged = tonumber(redis.call('HGET', KEYS[3], 'logged:' .. ARGV[5]) or '0')
if event[2] and logged + grams > tonumber(event[2]) then
  return {'mass', tostring(logged), event[2]}
end
local id = redis.call('XADD', KEYS[4], '*', 'kind', 'weigh', 'entry', ARGV[1],
  'acct', participant, 'type', ARGV[5], 'qty', ARGV[6], 'co2', ARGV[7], 'pts', ARGV[8],
  'fv', ARGV[9], 'occ', ARGV[10], 'rec', ARGV[11], 'by', ARGV[12])
local t = KEYS[3]
redis.call('HINCRBY', t, 'logged:' .. ARGV[5], grams)
if participant ~= '' then
  redis.call('HINCRBY', t, 'attr:' .. ARGV[5], grams)
else
  redis.call('HINCRBY', t, 'anon:' .. ARGV[5], grams)
end
redis.call('HINCRBY', t, 'co2:' .. ARGV[5], tonumber(ARGV[7]))
redis.call('HINCRBY', t, 'n:' .. ARGV[5], 1)
redis.call('HINCRBY', t, 'co2', tonumber(ARGV[7]))
local record = cjson.encode({
  fp = ARGV[2], id = id, participant = participant, type = ARGV[5],
  qty = ARGV[6], co2 = ARGV[7], pts = ARGV[8], fv = ARGV[9], occ = ARGV[10], rec = ARGV[11],
  cur_qty = ARGV[6], cur_co2 = ARGV[7], cur_pts = ARGV[8],
  rate_mg = ARGV[13], ppu = ARGV[14],
})
redis.call('HSET', KEYS[2], ARGV[1], record)
return {'ok', record}
