-- Citizens far above the day's median on an audit board, in one slot.
-- KEYS[1] audit board zset. ARGV[1] factor in permille, ARGV[2] floor
-- (grams), ARGV[3] limit.
-- Returns {active, median, threshold, member, score, member, score, ...},
-- highest first. The median of an even count is the floor of the mean of the
-- two middle scores.
local n = redis.call('ZCARD', KEYS[1])
if n == 0 then return {0, 0, tonumber(ARGV[2])} end
local function score_at(i)
  return tonumber(redis.call('ZRANGE', KEYS[1], i, i, 'WITHSCORES')[2])
end
local median
if n % 2 == 1 then
  median = score_at((n - 1) / 2)
else
  median = math.floor((score_at(n / 2 - 1) + score_at(n / 2)) / 2)
end
local threshold = math.floor(median * tonumber(ARGV[1]) / 1000)
local floor = tonumber(ARGV[2])
if threshold < floor then threshold = floor end
local rows = redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', '(' .. threshold, 'WITHSCORES',
                        'LIMIT', 0, tonumber(ARGV[3]))
local out = {n, median, threshold}
for _, v in ipairs(rows) do out[#out + 1] = v end
return out
