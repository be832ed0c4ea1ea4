-- Takes one token from a token bucket (docs/security.md "Rate limits").
-- KEYS[1] the bucket, a hash {tok = tokens left, ts = last update in ms}
-- ARGV[1] refill rate in tokens per minute (> 0), ARGV[2] burst (>= 1)
-- Returns 0 if a token was taken, else the milliseconds until the next one.
-- Time is Redis's own TIME, one clock for every replica of the service; the
-- key expires once the bucket would be full again, so idle subjects cost
-- nothing.
if redis.replicate_commands then redis.replicate_commands() end
local per_ms = tonumber(ARGV[1]) / 60000.0
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tok', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
elseif now > ts then
  tokens = math.min(burst, tokens + (now - ts) * per_ms)
end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / per_ms)
  if wait < 1 then wait = 1 end
end
redis.call('HSET', KEYS[1], 'tok', tostring(tokens), 'ts', tostring(now))
local full_in = math.ceil((burst - tokens) / per_ms)
if full_in < 1 then full_in = 1 end
redis.call('PEXPIRE', KEYS[1], full_in)
return wait
