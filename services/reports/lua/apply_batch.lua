-- Applies one batch of ledger entries of one shard to its report keys, and
-- acknowledges them, atomically: an entry is counted exactly when it is
-- acknowledged, so a crash never leaves one counted but pending.
-- KEYS[1] the shard's ledger stream  KEYS[2] rpt-applied  KEYS[3] rpt-owner
-- KEYS[4..] the report keys the ops name
-- ARGV[1] consumer group ('' = acknowledge nothing: the rebuild)
-- ARGV[2] writer (must equal rpt-owner: fences a projector that lost its
--         lease, or one running during a rebuild)
-- ARGV[3] first entry id of the batch  ARGV[4] last entry id
-- ARGV[5] n, then n entry ids to acknowledge
-- then quadruples: op ('h' HINCRBY key a b | 'p' PFADD key a | 's' SADD key a),
-- key index (into KEYS), a, b
-- Returns {1, last} applied; {0, applied} every entry was counted before
-- (only acknowledged); {-1, applied} some were (the caller drops those and
-- retries); {-2, owner} this writer is fenced off.
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function cmp(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  if am ~= bm then return am < bm and -1 or 1 end
  if as ~= bs then return as < bs and -1 or 1 end
  return 0
end
local owner = redis.call('GET', KEYS[3])
if owner ~= ARGV[2] then return {-2, owner or ''} end
local n = tonumber(ARGV[5])
local function ack()
  if ARGV[1] == '' then return end
  local i = 6
  while i <= 5 + n do
    local j = math.min(i + 499, 5 + n)
    redis.call('XACK', KEYS[1], ARGV[1], unpack(ARGV, i, j))
    i = j + 1
  end
end
local applied = redis.call('GET', KEYS[2])
if applied and cmp(applied, ARGV[4]) >= 0 then
  ack()
  return {0, applied}
end
if applied and cmp(applied, ARGV[3]) >= 0 then return {-1, applied} end
local i = 6 + n
while i <= #ARGV do
  local op, key = ARGV[i], KEYS[tonumber(ARGV[i + 1])]
  if op == 'h' then
    redis.call('HINCRBY', key, ARGV[i + 2], ARGV[i + 3])
  elseif op == 'p' then
    redis.call('PFADD', key, ARGV[i + 2])
  else
    redis.call('SADD', key, ARGV[i + 2])
  end
  i = i + 4
end
redis.call('SET', KEYS[2], ARGV[4])
ack()
return {1, ARGV[4]}
