import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

/**
 * Lua scripts of the Redis live store. Each runs atomically on the server, so a lock check and the
 * write it guards cannot interleave with another owner. The lock value is `owner:token`.
 */

export class LuaScript {
  private readonly sha: string;

  constructor(
    readonly name: string,
    private readonly source: string,
  ) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  /** EVALSHA, falling back to EVAL (which also caches the script) after a server restart or flush. */
  async run(redis: Redis, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await redis.call("evalsha", [this.sha, keys.length, ...keys, ...args]);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      return await redis.call("eval", [this.source, keys.length, ...keys, ...args]);
    }
  }
}

/**
 * KEYS: lock, fence. ARGV: owner, ttl, floor. Returns the token, or nil when another owner holds
 * the lock. A new token is above the floor even when the counter was lost.
 */
export const acquireScript = new LuaScript(
  "acquire",
  `
local current = redis.call('GET', KEYS[1])
if current then
  local sep = string.find(current, ':[^:]*$')
  if string.sub(current, 1, sep - 1) ~= ARGV[1] then return false end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(string.sub(current, sep + 1))
end
local token = redis.call('INCR', KEYS[2])
local floor = tonumber(ARGV[3]) or 0
if token <= floor then
  token = floor + 1
  redis.call('SET', KEYS[2], token)
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. token, 'NX', 'PX', ARGV[2])
return token
`,
);

/** KEYS: lock. ARGV: lock value, ttl. Compare-and-set of the expiry: 1 when renewed, else 0. */
export const renewScript = new LuaScript(
  "renew",
  `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`,
);

/** KEYS: lock. ARGV: lock value. Compare-and-delete: a stale lease never frees a newer owner's lock. */
export const releaseScript = new LuaScript(
  "release",
  `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
`,
);

/**
 * KEYS: lock, wal. ARGV: lock value, then position and turn JSON for each turn.
 * Entry ids are `<position>-0`, so Redis itself refuses an id at or below the stream's last one
 * (trimmed entries included). Only the first XADD can fail: the batch is checked to ascend before
 * anything is written, so a rejected batch leaves the stream untouched.
 */
export const appendScript = new LuaScript(
  "append",
  `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED the lock is not held by this lease') end
local previous = 0
for i = 2, #ARGV, 2 do
  local position = tonumber(ARGV[i])
  if position == nil or position <= previous then return redis.error_reply('TURN_ORDER ' .. ARGV[i]) end
  previous = position
end
for i = 2, #ARGV, 2 do
  local added = redis.pcall('XADD', KEYS[2], ARGV[i] .. '-0', 'p', ARGV[i], 't', ARGV[i + 1])
  if type(added) == 'table' and added.err then return redis.error_reply('TURN_ORDER ' .. ARGV[i]) end
end
return (#ARGV - 1) / 2
`,
);

/** KEYS: lock, state. ARGV: lock value, state JSON. */
export const putStateScript = new LuaScript(
  "putState",
  `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED the lock is not held by this lease') end
redis.call('SET', KEYS[2], ARGV[2])
return 1
`,
);

/**
 * KEYS: lock, wal. ARGV: lock value, position. Makes a missing stream, empty, with its last id at
 * the position so appends continue after it. Returns 1 when it made one, 0 when it existed.
 */
export const ensureStreamScript = new LuaScript(
  "ensureStream",
  `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED the lock is not held by this lease') end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('XGROUP', 'CREATE', KEYS[2], 'loom', '$', 'MKSTREAM')
redis.call('XGROUP', 'DESTROY', KEYS[2], 'loom')
if tonumber(ARGV[2]) > 0 then redis.call('XSETID', KEYS[2], ARGV[2] .. '-0') end
return 1
`,
);

/**
 * KEYS: wal. ARGV: count. Returns the stream's last id (`0-0` without a stream) and its first
 * `count` entries, at one instant: a trim cannot fall between the two.
 */
export const readStreamScript = new LuaScript(
  "readStream",
  `
if redis.call('EXISTS', KEYS[1]) == 0 then return {'0-0', {}} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local last = '0-0'
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then last = info[i + 1] end
end
return {last, redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', ARGV[1])}
`,
);
