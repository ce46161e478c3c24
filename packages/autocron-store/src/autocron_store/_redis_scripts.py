"""The Lua scripts of the Redis store: each decision is one script, so Redis makes it atomically.

Redis runs a script to its end before any other command, so "claim this key
unless it exists", "finish this claim unless it was taken from us" and "mark
this expired claim abandoned unless someone did already" each happen exactly
once, whatever other nodes send meanwhile. Times that decide leases come from
the server's clock (``TIME``), so nodes whose clocks disagree still agree on
when a lease has expired.

Every script takes the key prefix as ``ARGV[1]`` and builds its key names from
it (see ``_redis_keys``): the store is made for one Redis primary, not a Redis
Cluster, whose slots would need the keys declared up front.

Values are the JSON texts Python wrote; the scripts compare or copy them and
never turn microseconds into Lua numbers and back (a double would round them).
"""

from __future__ import annotations

__all__ = [
    "CLAIM",
    "DELETE_TASK",
    "FINISH",
    "HEARTBEAT",
    "LIVE_NODES",
    "PRUNE",
    "PRUNE_CANDIDATES",
    "REAP",
    "REGISTER",
    "SAVE_STATES",
    "SAVE_TASK",
    "SHARED_ANCHOR",
    "UNREGISTER",
]

_PRELUDE = """
local P = ARGV[1]
local SK_LEN = 30
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function now_us_text()
  local t = redis.call('TIME')
  return t[1] .. string.format('%06d', tonumber(t[2]))
end
local function run_key(task, sk) return P .. 'run:' .. task .. ':' .. sk end
local function plain(status) return string.sub(status, 2, -2) end
-- A record's share of its task's counts arrives (enter) or goes (leave).
local function enter(task, status, started, finished)
  local agg = P .. 'agg:' .. task
  redis.call('HINCRBY', agg, 'n:' .. status, 1)
  if started ~= 'null' then
    redis.call('HINCRBY', agg, 'started', 1)
    local last = redis.call('HGET', agg, 'last_run')
    if (not last) or tonumber(started) > tonumber(last) then redis.call('HSET', agg, 'last_run', started) end
  end
  if status == 'succeeded' and finished ~= 'null' then
    local last = redis.call('HGET', agg, 'last_success')
    if (not last) or tonumber(finished) > tonumber(last) then
      redis.call('HSET', agg, 'last_success', finished)
    end
  end
end
local function leave(task, status, started)
  local agg = P .. 'agg:' .. task
  redis.call('HINCRBY', agg, 'n:' .. status, -1)
  if started ~= 'null' then redis.call('HINCRBY', agg, 'started', -1) end
end
-- The duration and lateness samples a record contributes ('' for none).
local function values(task, sk, dur, late)
  if dur ~= '' then redis.call('ZADD', P .. 'dur:' .. task, dur, sk)
  else redis.call('ZREM', P .. 'dur:' .. task, sk) end
  if late ~= '' then redis.call('ZADD', P .. 'late:' .. task, late, sk)
  else redis.call('ZREM', P .. 'late:' .. task, sk) end
end
local function index(task, sk)
  redis.call('ZADD', P .. 'hist:' .. task, 0, sk)
  redis.call('ZADD', P .. 'hist', 0, sk .. ':' .. task)
  redis.call('SADD', P .. 'runtasks', task)
end
"""

# Each record: task, sk, status, node JSON, started, finished, dur, late, field count, fields.
# ARGV[2] lease ms, ARGV[3] '1' on a retry after a lost reply, ARGV[4] record count.
# Returns per record the claim's fencing token, or 0 when the key was taken.
CLAIM = (
    _PRELUDE
    + """
local lease = tonumber(ARGV[2])
local retry = ARGV[3] == '1'
local expires = now_ms() + lease
local out = {}
local i = 5
for r = 1, tonumber(ARGV[4]) do
  local task, sk, status, node = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local started, finished, dur, late = ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]
  local first = i + 9
  local last = first + 2 * tonumber(ARGV[i + 8]) - 1
  i = last + 1
  local rk = run_key(task, sk)
  local fence = 0
  if redis.call('EXISTS', rk) == 0 then
    fence = redis.call('INCR', P .. 'fence')
    redis.call('HSET', rk, '_fence', fence, unpack(ARGV, first, last))
    index(task, sk)
    if status == 'running' then
      local member = sk .. ':' .. task
      redis.call('ZADD', P .. 'running', expires, member)
      redis.call('SADD', P .. 'owned:' .. node, member)
    end
    enter(task, status, started, finished)
    values(task, sk, dur, late)
  elseif retry then
    -- This very claim may have landed before its reply was lost: same node, same start, running.
    local cur = redis.call('HMGET', rk, 'status', 'node_id', 'started_at', '_fence')
    if cur[1] == '"running"' and cur[2] == node and cur[3] == started then fence = tonumber(cur[4]) end
  end
  out[r] = fence
end
return out
"""
)

# Each record: task, sk, status, node JSON, started, finished, dur, late, expected fence ('' when
# unknown), late-finish note, field count, fields. Then a count of states and (name, state) pairs.
# ARGV[2] record count. Returns per record 'ok', 'late' (it had been reaped) or 'fenced'.
FINISH = (
    _PRELUDE
    + """
local out = {}
local i = 3
for r = 1, tonumber(ARGV[2]) do
  local task, sk, status, node = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local started, finished, dur, late = ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]
  local fence, note = ARGV[i + 8], ARGV[i + 9]
  local first = i + 11
  local last = first + 2 * tonumber(ARGV[i + 10]) - 1
  i = last + 1
  local rk = run_key(task, sk)
  local member = sk .. ':' .. task
  local cur = redis.call('HMGET', rk, 'status', 'started_at', '_fence', 'error', 'node_id')
  if not cur[1] then
    -- Never claimed (the claim itself failed), or lost with a server that kept no data: record it.
    redis.call('HSET', rk, '_fence', 0, unpack(ARGV, first, last))
    index(task, sk)
    enter(task, status, started, finished)
    values(task, sk, dur, late)
    out[r] = 'ok'
  elseif cur[1] == '"abandoned"' then
    -- Reaped while this node still ran it: the record stays abandoned and says how it really ended.
    local old = cjson.decode(cur[4])
    if old == cjson.null then old = 'None' end
    local output = 'null'
    for k = first, last, 2 do
      if ARGV[k] == 'output' then output = ARGV[k + 1] end
    end
    if string.sub(old, -#note) ~= note then old = old .. note end  -- a retry adds it once
    redis.call('HSET', rk, 'error', cjson.encode(old), 'output', output)
    out[r] = 'late'
  elseif fence ~= '' and cur[3] ~= fence then
    -- The key holds another claim than the one this node made: never write over it.
    out[r] = 'fenced'
  else
    leave(task, plain(cur[1]), cur[2])
    redis.call('HSET', rk, unpack(ARGV, first, last))
    enter(task, status, started, finished)
    values(task, sk, dur, late)
    if status ~= 'running' then
      redis.call('ZREM', P .. 'running', member)
      redis.call('SREM', P .. 'owned:' .. cur[5], member)
    end
    out[r] = 'ok'
  end
end
local states = tonumber(ARGV[i])
for s = 1, states do
  local name, state = ARGV[i + 2 * s - 1], ARGV[i + 2 * s]
  if redis.call('HEXISTS', P .. 'task', name) == 1 then redis.call('HSET', P .. 'state', name, state) end
end
return out
"""
)

# ARGV[2] the reaper's node JSON, ARGV[3] the error text as JSON, ARGV[4] this call's token,
# ARGV[5] most records to take, ARGV[6] number of task names (-1: every task), then the names.
# Returns {member, field, value, ...} per record this call (or an earlier try of it) marked.
REAP = (
    _PRELUDE
    + """
local reaper, err, token, limit = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
local allowed = nil
local n = tonumber(ARGV[6])
if n >= 0 then
  allowed = {}
  for k = 1, n do allowed[ARGV[6 + k]] = true end
end
local done = P .. 'reaped:' .. token
local now = now_ms()
local now_us = now_us_text()
local running = P .. 'running'
for _, member in ipairs(redis.call('ZRANGEBYSCORE', running, '-inf', '(' .. now, 'LIMIT', 0, limit)) do
  local sk, task = string.sub(member, 1, SK_LEN), string.sub(member, SK_LEN + 2)
  if allowed == nil or allowed[task] then
    local rk = run_key(task, sk)
    local cur = redis.call('HMGET', rk, 'status', 'node_id', 'started_at')
    if cur[1] ~= '"running"' then
      redis.call('ZREM', running, member)  -- a stale entry: the record is gone or finished
    elseif cur[2] ~= reaper then
      leave(task, 'running', cur[3])
      redis.call('HSET', rk, 'status', '"abandoned"', 'finished_at', now_us, 'error', err)
      enter(task, 'abandoned', cur[3], now_us)
      redis.call('ZREM', running, member)
      redis.call('SREM', P .. 'owned:' .. cur[2], member)
      redis.call('RPUSH', done, member)
    end
  end
end
local out = {}
for _, member in ipairs(redis.call('LRANGE', done, 0, -1)) do
  local sk, task = string.sub(member, 1, SK_LEN), string.sub(member, SK_LEN + 2)
  local row = redis.call('HGETALL', run_key(task, sk))
  table.insert(row, 1, member)
  table.insert(out, row)
end
if #out > 0 then redis.call('EXPIRE', done, 600) end
return out
"""
)

# ARGV[2] node id, ARGV[3] node JSON, ARGV[4] lease ms.
HEARTBEAT = (
    _PRELUDE
    + """
local now = now_ms()
local expires = now + tonumber(ARGV[4])
redis.call('ZADD', P .. 'nodes', now, ARGV[2])
redis.call('HSETNX', P .. 'node_started', ARGV[2], now)
local owned = P .. 'owned:' .. ARGV[3]
local running = P .. 'running'
for _, member in ipairs(redis.call('SMEMBERS', owned)) do
  if redis.call('ZSCORE', running, member) then
    redis.call('ZADD', running, 'XX', expires, member)
  else
    redis.call('SREM', owned, member)  -- finished or reaped: no lease left to renew
  end
end
return now
"""
)

# ARGV[2] node id.
REGISTER = (
    _PRELUDE
    + """
local now = now_ms()
redis.call('ZADD', P .. 'nodes', now, ARGV[2])
redis.call('HSET', P .. 'node_started', ARGV[2], now)
return now
"""
)

UNREGISTER = (
    _PRELUDE
    + """
redis.call('ZREM', P .. 'nodes', ARGV[2])
return redis.call('HDEL', P .. 'node_started', ARGV[2])
"""
)

# ARGV[2] lease ms. Nodes whose heartbeat is younger than a lease.
LIVE_NODES = (
    _PRELUDE
    + """
return redis.call('ZRANGEBYSCORE', P .. 'nodes', now_ms() - tonumber(ARGV[2]), '+inf')
"""
)

# ARGV[2] name, ARGV[3] definition JSON, ARGV[4] state JSON.
SAVE_TASK = (
    _PRELUDE
    + """
redis.call('HSET', P .. 'task', ARGV[2], ARGV[3])
redis.call('HSET', P .. 'state', ARGV[2], ARGV[4])
redis.call('PUBLISH', P .. 'changes', ARGV[2])
return 1
"""
)

# ARGV[2] count, then (name, state JSON) pairs: only stored tasks get a state.
SAVE_STATES = (
    _PRELUDE
    + """
local saved = 0
for s = 1, tonumber(ARGV[2]) do
  local name, state = ARGV[1 + 2 * s], ARGV[2 + 2 * s]
  if redis.call('HEXISTS', P .. 'task', name) == 1 then
    redis.call('HSET', P .. 'state', name, state)
    saved = saved + 1
  end
end
return saved
"""
)

# ARGV[2] name. Whether it existed.
DELETE_TASK = (
    _PRELUDE
    + """
local existed = redis.call('HDEL', P .. 'task', ARGV[2])
redis.call('HDEL', P .. 'state', ARGV[2])
if existed == 1 then redis.call('PUBLISH', P .. 'changes', ARGV[2]) end
return existed
"""
)

# ARGV[2] name, ARGV[3] the caller's anchor (ISO). {1, definition} for a stored task, else {0, anchor}.
SHARED_ANCHOR = (
    _PRELUDE
    + """
local definition = redis.call('HGET', P .. 'task', ARGV[2])
if definition then return {1, definition} end
redis.call('HSETNX', P .. 'anchor', ARGV[2], ARGV[3])
return {0, redis.call('HGET', P .. 'anchor', ARGV[2])}
"""
)

# ARGV[2] task, ARGV[3] records to keep (0: no count limit), ARGV[4] sort key below which records
# go ('' for no age limit), ARGV[5] most records to look at. Running claims always stay.
# Returns {removed, looked at}.
PRUNE = (
    _PRELUDE
    + """
local task, keep, cutoff, limit = ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local hist = P .. 'hist:' .. task
local victims = {}
local seen = {}
if cutoff ~= '' then
  for _, sk in ipairs(redis.call('ZRANGEBYLEX', hist, '-', '(' .. cutoff, 'LIMIT', 0, limit)) do
    if not seen[sk] then seen[sk] = true table.insert(victims, sk) end
  end
end
if keep > 0 then
  local extra = redis.call('ZCARD', hist) - keep
  if extra > 0 then
    for _, sk in ipairs(redis.call('ZRANGE', hist, 0, math.min(extra, limit) - 1)) do
      if not seen[sk] then seen[sk] = true table.insert(victims, sk) end
    end
  end
end
local removed = 0
for _, sk in ipairs(victims) do
  local rk = run_key(task, sk)
  local cur = redis.call('HMGET', rk, 'status', 'started_at')
  if cur[1] ~= '"running"' then
    if cur[1] then leave(task, plain(cur[1]), cur[2]) end
    redis.call('DEL', rk)
    redis.call('ZREM', hist, sk)
    redis.call('ZREM', P .. 'hist', sk .. ':' .. task)
    redis.call('ZREM', P .. 'dur:' .. task, sk)
    redis.call('ZREM', P .. 'late:' .. task, sk)
    removed = removed + 1
  end
end
if redis.call('EXISTS', hist) == 0 then
  redis.call('SREM', P .. 'runtasks', task)
  redis.call('DEL', P .. 'agg:' .. task)
end
return {removed, #victims}
"""
)

# ARGV[2] records to keep per task (0: no count limit), ARGV[3] the age cutoff's sort key ('' for
# none). The tasks with more records than that, or with a record older: the only ones worth pruning.
PRUNE_CANDIDATES = (
    _PRELUDE
    + """
local keep, cutoff = tonumber(ARGV[2]), ARGV[3]
local out = {}
for _, task in ipairs(redis.call('SMEMBERS', P .. 'runtasks')) do
  local hist = P .. 'hist:' .. task
  local crowded = keep > 0 and redis.call('ZCARD', hist) > keep
  local old = false
  if cutoff ~= '' and not crowded then
    local oldest = redis.call('ZRANGE', hist, 0, 0)[1]
    old = oldest ~= nil and oldest < cutoff
  end
  if crowded or old then table.insert(out, task) end
end
return out
"""
)
