-- Moves an event from one status to the next.
-- KEYS[1] event hash   ARGV[1] required current status, ARGV[2] new status
-- Returns {'ok'} | {'same'} (already there) | {'bad', current} | {'missing'}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
if status == ARGV[2] then return {'same'} end
if status ~= ARGV[1] then return {'bad', status} end
redis.call('HSET', KEYS[1], 'status', ARGV[2])
return {'ok'}
