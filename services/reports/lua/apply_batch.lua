-- Counts one batch of ledger entries of one shard into its report keys, and
-- acknowledges them, atomically: the projector counts an entry exactly when
-- it acknowledges it, so a crash never leaves one counted but pending.
-- KEYS[1] the shard's ledger stream  KEYS[2] rpt-applied  KEYS[3] rpt-owner
-- KEYS[4] rpt-holes  KEYS[5..] the report keys the ops name
-- ARGV[1] consumer group ('' = the rebuild: acknowledge nothing, no holes)
-- ARGV[2] writer (must equal rpt-owner: fences off a projector that lost its
--         lease, or one running during a rebuild)
-- ARGV[3] last entry id of the batch
-- ARGV[4] a, then a ids to acknowledge (the whole batch)
-- then c, then the c ids whose figures the ops carry
-- then quadruples: op ('h' HINCRBY key x y | 'p' PFADD key x | 's' SADD key x),
-- key index (into KEYS), x, y
--
-- An entry must be counted if its id is above rpt-applied (entries are
-- counted in stream order), or if it is a hole: an entry below it that was
-- pending, and not in the batch, when a later one was counted (a projector
-- fenced off after reading it, or this very projector when its call to
-- count it failed, e.g. timed out, and it read on). Every other entry was counted already and
-- is only acknowledged. Returns {1} when the counted ids are exactly those;
-- {-1, applied, holes in the batch...} when not (nothing written: the caller
-- counts the right ones and calls again); {-2, owner} when fenced off.
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function above(a, b)  -- stream id a > b
  if not b then return true end
  local am, as = parse(a)
  local bm, bs = parse(b)
  if am ~= bm then return am > bm end
  return as > bs
end
local owner = redis.call('GET', KEYS[3])
if owner ~= ARGV[2] then return {-2, owner or ''} end
local applied = redis.call('GET', KEYS[2])
local a = tonumber(ARGV[4])
local c = tonumber(ARGV[5 + a])
local counted = {}
for i = 6 + a, 5 + a + c do counted[ARGV[i]] = true end
-- Which ids must be counted, and are they the ones carried?
local ok, holes = true, {}
local ids = {}
if ARGV[1] == '' then
  for id in pairs(counted) do ids[#ids + 1] = id end
else
  for i = 5, 4 + a do ids[#ids + 1] = ARGV[i] end
end
local wanted = 0
for _, id in ipairs(ids) do
  local must = above(id, applied)
  if not must and redis.call('SISMEMBER', KEYS[4], id) == 1 then
    must = true
    holes[#holes + 1] = id
  end
  if must then wanted = wanted + 1 end
  if must ~= (counted[id] == true) then ok = false end
end
if not ok or wanted ~= c then
  local reply = {-1, applied or ''}
  for _, id in ipairs(holes) do reply[#reply + 1] = id end
  return reply
end
-- Entries between the last counted one and this batch's last that are
-- still pending, whoever holds them, and are not in this batch were never
-- counted (pending entries above rpt-applied never are: counting one
-- acknowledges it): remember them as holes. The holder may be this very
-- consumer, when an earlier call for them failed after they were read.
local newest = applied
if above(ARGV[3], applied) then
  if ARGV[1] ~= '' then
    local in_batch = {}
    for _, id in ipairs(ids) do in_batch[id] = true end
    local from = applied and ('(' .. applied) or '-'
    local pending = redis.call('XPENDING', KEYS[1], ARGV[1], from, ARGV[3], 100000)
    for _, p in ipairs(pending) do
      if not in_batch[p[1]] then redis.call('SADD', KEYS[4], p[1]) end
    end
  end
  newest = ARGV[3]
end
for _, id in ipairs(holes) do redis.call('SREM', KEYS[4], id) end
local i = 6 + a + c
while i <= #ARGV do
  local op, key = ARGV[i], KEYS[tonumber(ARGV[i + 1])]
  if op == 'h' then
    redis.call('HINCRBY', key, ARGV[i + 2], ARGV[i + 3])
  elseif op == 'p' then
    redis.call('PFADD', key, ARGV[i + 2])
  else
    redis.call('SADD', key, ARGV[i + 2])
  end
  i = i + 4
end
if newest then redis.call('SET', KEYS[2], newest) end
if ARGV[1] ~= '' then
  local j = 5
  while j <= 4 + a do
    local k = math.min(j + 499, 4 + a)
    redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, j, k))
    j = k + 1
  end
end
return {1}
