-- One member's position and neighbours. KEYS[1] board zset.
-- ARGV[1] member, ARGV[2] neighbours on each side.
-- Returns {total} when the member has no score, else
-- {total, window_offset, window_first_rank, member, score, ...}
local total = redis.call('ZCARD', KEYS[1])
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return {total} end
local index = redis.call('ZREVRANK', KEYS[1], ARGV[1])
local n = tonumber(ARGV[2])
local from = index - n
if from < 0 then from = 0 end
local window = redis.call('ZREVRANGE', KEYS[1], from, index + n, 'WITHSCORES')
local first_rank = redis.call('ZCOUNT', KEYS[1], '(' .. window[2], '+inf') + 1
local out = {total, from, first_rank}
for _, v in ipairs(window) do out[#out + 1] = v end
return out
