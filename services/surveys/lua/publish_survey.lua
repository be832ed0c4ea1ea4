-- DRAFT -> PUBLISHED, once; a published survey is never written again.
-- KEYS[1] survey hash
-- ARGV[1] the survey (JSON) as published
-- Returns {'ok'} | {'same'} (already published) | {'missing'}
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
if status == 'published' then return {'same'} end
redis.call('HSET', KEYS[1], 'status', 'published', 'json', ARGV[1])
return {'ok'}
