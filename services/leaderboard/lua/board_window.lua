-- One part of a partitioned board (board_layout.h): where a (score, member)
-- pivot falls in it, and the part's members around that place.
-- KEYS[1] part zset. ARGV[1] score, ARGV[2] member, ARGV[3] members to read
-- on each side (0: none).
-- Returns {card, above, ahead, from, member, score, ...}: card the part's
-- members; above those with a higher score; ahead those before the pivot in
-- board order (a higher score, or the same score and a member that sorts
-- after it, as ZREVRANGE orders ties); from the part index of the first
-- member returned. Cost O(log(ties) x log(card)) plus the members read.
local card = redis.call('ZCARD', KEYS[1])
local above = redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], '+inf')
local below = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. ARGV[1])
local ties = card - above - below
-- The ties sit at ascending indexes [below, below + ties) in member order:
-- find the first one that sorts after ARGV[2] (Lua compares bytes, as Redis).
local lo, hi = 0, ties
while lo < hi do
  local mid = math.floor((lo + hi) / 2)
  local m = redis.call('ZRANGE', KEYS[1], below + mid, below + mid)[1]
  if m > ARGV[2] then hi = mid else lo = mid + 1 end
end
local ahead = above + ties - lo
local k = tonumber(ARGV[3])
local from = ahead - k
if from < 0 then from = 0 end
local out = {card, above, ahead, from}
if k > 0 then
  local window = redis.call('ZREVRANGE', KEYS[1], from, ahead + k - 1, 'WITHSCORES')
  for _, v in ipairs(window) do out[#out + 1] = v end
end
return out
