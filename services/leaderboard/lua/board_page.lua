-- A page of a board, best first, with the competition rank of its first
-- entry. KEYS[1] board zset. ARGV[1] offset, ARGV[2] count, ARGV[3] member
-- to centre the page on ('' for none; a member not on the board leaves the
-- offset as given).
-- Returns {total, first_rank, offset, member, score, member, score, ...}
local total = redis.call('ZCARD', KEYS[1])
local offset = tonumber(ARGV[1])
local count = tonumber(ARGV[2])
if ARGV[3] and ARGV[3] ~= '' then
  local index = redis.call('ZREVRANK', KEYS[1], ARGV[3])
  if index then
    offset = index - math.floor(count / 2)
    if offset < 0 then offset = 0 end
  end
end
local page = redis.call('ZREVRANGE', KEYS[1], offset, offset + count - 1, 'WITHSCORES')
local first_rank = 0
if #page > 0 then
  first_rank = redis.call('ZCOUNT', KEYS[1], '(' .. page[2], '+inf') + 1
end
local out = {total, first_rank, offset}
for _, v in ipairs(page) do out[#out + 1] = v end
return out
