-- Trims archived entries from a ledger shard stream and records how far, in
-- one step: the marker never says less than what is gone, so no reader
-- takes the stream alone for the whole ledger (services/archive/archiver.h).
-- KEYS[1] ledger stream, KEYS[2] its trim marker (same shard slot)
-- ARGV[1] id of the newest entry to remove, ARGV[2] the id after it (MINID)
-- Returns the entries removed. Batches go forward in id order and only a
-- batch that removed something writes the marker, so it only advances.
local removed = redis.call('XTRIM', KEYS[1], 'MINID', '=', ARGV[2])
if removed > 0 then redis.call('SET', KEYS[2], ARGV[1]) end
return removed
