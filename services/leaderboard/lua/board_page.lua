-- A page of a board, best first, with the competition rank of its first
-- entry. KEYS[1] board zset. ARGV[1] offset, ARGV[2] count.
-- Returns {total, first_rank, member, score, member, score, ...}
local total = redis.call('ZCARD', KEYS[1])
local offset = tonumber(ARGV[1])
local page = redis.call('ZREVRANGE', KEYS[1], offset, offset + tonumber(ARGV[2]) - 1, 'WITHSCORES')
local first_rank = 0
if #page > 0 then
  first_rank = redis.call('ZCOUNT', KEYS[1], '(' .. page[2], '+inf') + 1
end
local out = {total, first_rank}
for _, v in ipairs(page) do out[#out + 1] = v end
return out
