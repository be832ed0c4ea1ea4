-- Changes profile fields of an existing citizen account.
-- KEYS[1] account hash
-- ARGV: field, value pairs (an empty value deletes the field)
-- Returns {'ok', HGETALL...} | {'missing'} | {'not_citizen'}
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
if redis.call('HGET', KEYS[1], 'role') ~= 'citizen' then return {'not_citizen'} end
for i = 1, #ARGV, 2 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', KEYS[1], ARGV[i])
  else
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
local result = {'ok'}
for _, v in ipairs(redis.call('HGETALL', KEYS[1])) do result[#result + 1] = v end
return result
