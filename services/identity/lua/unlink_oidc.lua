-- Removes an OpenID Connect link if it still leads to the given account (a
-- sign-in may have relinked the identity to a new account meanwhile).
-- KEYS[1] the identity's link key; ARGV[1] the account id
-- Returns 1 if removed, 0 otherwise.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
