-- Sets closing totals per action type, refusing any below what is logged.
-- KEYS[1] event hash  KEYS[2] event totals
-- ARGV: action type, grams, action type, grams, ...
-- Returns {'ok'} | {'missing'} | {'mass', type, logged, total}
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
for i = 1, #ARGV, 2 do
  local logged = tonumber(redis.call('HGET', KEYS[2], 'logged:' .. ARGV[i]) or '0')
  if logged > tonumber(ARGV[i + 1]) then
    return {'mass', ARGV[i], tostring(logged), ARGV[i + 1]}
  end
end
for i = 1, #ARGV, 2 do
  redis.call('HSET', KEYS[1], 'close:' .. ARGV[i], ARGV[i + 1])
end
return {'ok'}
