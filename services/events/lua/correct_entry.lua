-- Voids or adjusts an entry with a compensating ledger entry, never an edit.
-- KEYS[1] event hash  KEYS[2] entries hash  KEYS[3] event totals
-- KEYS[4] event ledger stream
-- ARGV[1] correction request id  ARGV[2] fingerprint  ARGV[3] target entry id
-- ARGV[4] kind ('void' | 'adjust')  ARGV[5] new grams  ARGV[6] new co2
-- ARGV[7] new points  ARGV[8] reason  ARGV[9] staff login  ARGV[10] now ms
-- Returns {'ok', json} | {'dup', json} | {'conflict'} | {'missing'} |
--   {'no_target'} | {'void'} | {'mass', logged, closing}
local key = 'corr:' .. ARGV[1]
local stored = redis.call('HGET', KEYS[2], key)
if stored then
  local record = cjson.decode(stored)
  if record.fp ~= ARGV[2] then return {'conflict'} end
  return {'dup', stored}
end
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local raw = redis.call('HGET', KEYS[2], ARGV[3])
if not raw or string.sub(ARGV[3], 1, 5) == 'corr:' then return {'no_target'} end
local target = cjson.decode(raw)
if target.voided then return {'void'} end
local old_qty = tonumber(target.cur_qty)
local new_qty = tonumber(ARGV[5])
local d_qty = new_qty - old_qty
local d_co2 = tonumber(ARGV[6]) - tonumber(target.cur_co2)
local d_pts = tonumber(ARGV[7]) - tonumber(target.cur_pts)
local closing = redis.call('HGET', KEYS[1], 'close:' .. target.type)
local logged = tonumber(redis.call('HGET', KEYS[3], 'logged:' .. target.type) or '0')
if d_qty > 0 and closing and logged + d_qty > tonumber(closing) then
  return {'mass', tostring(logged), closing}
end
local id = redis.call('XADD', KEYS[4], '*', 'kind', 'correct', 'entry', key,
  'target', ARGV[3], 'acct', target.participant, 'type', target.type,
  'qty', tostring(d_qty), 'co2', tostring(d_co2), 'pts', tostring(d_pts), 'fv', target.fv,
  'occ', target.occ, 'rec', ARGV[10], 'by', ARGV[9], 'reason', ARGV[8], 'ckind', ARGV[4],
  'old', tostring(old_qty), 'new', tostring(new_qty))
local t = KEYS[3]
redis.call('HINCRBY', t, 'logged:' .. target.type, d_qty)
if target.participant ~= '' then
  redis.call('HINCRBY', t, 'attr:' .. target.type, d_qty)
else
  redis.call('HINCRBY', t, 'anon:' .. target.type, d_qty)
end
redis.call('HINCRBY', t, 'co2:' .. target.type, d_co2)
redis.call('HINCRBY', t, 'co2', d_co2)
if ARGV[4] == 'void' then
  redis.call('HINCRBY', t, 'n:' .. target.type, -1)
  target.voided = true
end
target.cur_qty = tostring(new_qty)
target.cur_co2 = ARGV[6]
target.cur_pts = ARGV[7]
redis.call('HSET', KEYS[2], ARGV[3], cjson.encode(target))
local record = cjson.encode({
  fp = ARGV[2], id = id, participant = target.participant, type = target.type,
  qty = tostring(d_qty), co2 = tostring(d_co2), pts = tostring(d_pts), fv = target.fv,
  occ = target.occ, rec = ARGV[10], target = ARGV[3], ckind = ARGV[4],
})
redis.call('HSET', KEYS[2], key, record)
return {'ok', record}
