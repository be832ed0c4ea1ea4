-- The behaviour link (GetBehaviourChange): for each account of one ledger
-- shard, its net actions and grams of CO2 in two windows, from the
-- account's history zset (entry ids scored by occurred ms) and the shard's
-- ledger stream. Bounded: at most ARGV[4] entries per account and window.
-- KEYS[1] the shard's ledger stream  KEYS[2..] the accounts' history zsets
-- ARGV[1] before window start (ms, inclusive)  ARGV[2] reference (ms): the
-- before window ends before it, the after window starts at it
-- ARGV[3] after window end (ms, exclusive)  ARGV[4] entries per window
-- Returns one {actions_before, co2_before, actions_after, co2_after, capped}
-- per history key, in order (capped 1 if a window had more entries).
local cap = tonumber(ARGV[4])
local function window(hist, from, to)
  local ids = redis.call('ZRANGEBYSCORE', hist, from, to, 'LIMIT', 0, cap + 1)
  local n, co2, capped = 0, 0, 0
  local last = #ids
  if last > cap then
    capped = 1
    last = cap
  end
  for i = 1, last do
    local entry = redis.call('XRANGE', KEYS[1], ids[i], ids[i])[1]
    if entry then
      local f = entry[2]
      local count, grams = 1, 0
      for j = 1, #f, 2 do
        if f[j] == 'co2' then
          grams = tonumber(f[j + 1]) or 0
        elseif f[j] == 'cnt' then
          count = tonumber(f[j + 1]) or 1
        end
      end
      n = n + count
      co2 = co2 + grams
    end
  end
  return n, co2, capped
end
local out = {}
for k = 2, #KEYS do
  local nb, cb, xb = window(KEYS[k], ARGV[1], '(' .. ARGV[2])
  local na, ca, xa = window(KEYS[k], ARGV[2], '(' .. ARGV[3])
  out[#out + 1] = {nb, cb, na, ca, math.max(xb, xa)}
end
return out
