-- Links an OpenID Connect identity to an account id unless it is linked
-- already; relinks it when the caller found the linked account deleted.
-- KEYS[1] the identity's link key
-- ARGV[1] the account id to link, ARGV[2] the deleted account id that may be
-- replaced ('' for none)
-- Returns the account id the identity is linked to after the call.
local current = redis.call('GET', KEYS[1])
if not current or (ARGV[2] ~= '' and current == ARGV[2]) then
  redis.call('SET', KEYS[1], ARGV[1])
  return ARGV[1]
end
return current
