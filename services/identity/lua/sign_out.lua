-- Sign-out: deletes a refresh token family, but only for the holder of its
-- current secret (or of the previous one within the retry grace): every
-- older token of the family carries the same account and family ids, and a
-- leaked old token must not sign its owner out (docs/security.md "Tokens").
-- KEYS[1] the account's families hash
-- ARGV[1] family id, ARGV[2] hash of the presented secret, ARGV[3] now (ms),
-- ARGV[4] grace for a retried refresh (ms)
-- Returns 'revoked' | 'absent' (no such family: already signed out, expired
-- or revoked) | 'mismatch' (an old or forged secret; nothing changed)
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 'absent' end
local f = cjson.decode(raw)
local now = tonumber(ARGV[3])
if ARGV[2] == f.cur or
   (f.prev ~= '' and ARGV[2] == f.prev and now - tonumber(f.at) <= tonumber(ARGV[4])) then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 'revoked'
end
return 'mismatch'
