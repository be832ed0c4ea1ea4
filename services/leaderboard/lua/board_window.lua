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
-- Whether `a` sorts after `b` byte by byte, as Redis orders a sorted set's
-- ties and as the C++ merge does. Not Lua's `>` on strings: that is strcoll,
-- which follows the Redis server's locale (LC_COLLATE from its environment;
-- in en_US.UTF-8 'a' < 'B').
local function after(a, b)
  if a == b then return false end
  local n = math.min(#a, #b)
  local i = 1
  -- Skip the common prefix 8 bytes at a time (sub compares bytes for equality).
  while i + 7 <= n and string.sub(a, i, i + 7) == string.sub(b, i, i + 7) do i = i + 8 end
  while i <= n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x > y end
    i = i + 1
  end
  return #a > #b
end
-- The ties sit at ascending indexes [below, below + ties) in member order:
-- find the first one that sorts after ARGV[2].
local lo, hi = 0, ties
while lo < hi do
  local mid = math.floor((lo + hi) / 2)
  local m = redis.call('ZRANGE', KEYS[1], below + mid, below + mid)[1]
  if after(m, ARGV[2]) then hi = mid else lo = mid + 1 end
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
