-- A lease that lets one projector (or a rebuild) write the boards at a time.
-- KEYS[1] lease key
-- ARGV[1] owner  ARGV[2] time to live in ms ('0' = release)  ARGV[3] '1' = take
-- it even from another owner (the rebuild pausing the projector)
-- Returns 1 if `owner` holds (or released) the lease, 0 otherwise.
local current = redis.call('GET', KEYS[1])
if ARGV[2] == '0' then
  if current == ARGV[1] then redis.call('DEL', KEYS[1]) end
  return 1
end
if current and current ~= ARGV[1] and ARGV[3] ~= '1' then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
