-- A page of an account's ledger entries, newest occurred_at first.
-- KEYS[1] history zset  KEYS[2] ledger stream
-- ARGV[1] offset  ARGV[2] count
-- Returns {total, {id, {field, value, ...}} or id, ...}: a bare id is an
-- entry archived out of the stream (ecoact_archive), still in the history.
local offset = tonumber(ARGV[1])
local count = tonumber(ARGV[2])
local ids = redis.call('ZREVRANGE', KEYS[1], offset, offset + count - 1)
local out = {redis.call('ZCARD', KEYS[1])}
for _, id in ipairs(ids) do
  local entry = redis.call('XRANGE', KEYS[2], id, id)
  if entry[1] then out[#out + 1] = entry[1] else out[#out + 1] = id end
end
return out
