-- Checks a participant in once per event.
-- KEYS[1] event hash  KEYS[2] check-ins hash (account -> ms)
-- ARGV[1] account id  ARGV[2] now (ms)
-- Returns {'ok'} | {'dup', first ms} | {'status', status} | {'missing'}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
if status ~= 'open' then return {'status', status} end
local first = redis.call('HGET', KEYS[2], ARGV[1])
if first then return {'dup', first} end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return {'ok'}
