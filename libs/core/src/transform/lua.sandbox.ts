/**
 * A sandboxed Lua 5.3 runner on the pure-JS `fengari` VM, standing in for gopher-lua as Argo
 * Events uses it for the dependency `script` filter and `transform.script`
 * (`pkg/sensors/dependencies/{filter,transform}.go`): the global `event` is the event data as
 * a table, and the chunk's returned value is the result.
 *
 * Safety: only the base, string, table, math and utf8 libraries are opened (no io/os/package,
 * no dofile/loadfile/load/print); an instruction-count hook aborts a runaway script; the
 * hook also samples V8 heap + external memory growth (a guard, not exact accounting), and
 * `string.rep` is bounded up front, so a script fails with a clear {@link LuaError} instead of hanging the process.
 * The hook does not run inside library functions (a backtracking `string.find` runs for
 * minutes), so {@link runLua} runs all this in a worker thread under V8 heap limits and a
 * wall-clock deadline (docs/core.md, "Limits").
 */
import { getHeapStatistics } from 'node:v8';
import {
  MessageChannel,
  receiveMessageOnPort,
  Worker,
  type MessagePort,
} from 'node:worker_threads';
import fengari from 'fengari';
import { DEFAULT_DEADLINE_MS } from '../limits.js';

const { lua, lauxlib, lualib, to_luastring } = fengari;

export class LuaError extends Error {
  override name = 'LuaError';
}

export interface LuaLimits {
  /** Max VM instructions. Default 1 000 000. */
  maxInstructions?: number;
  /** Max bytes a single `string.rep` may build. Default 8 MiB. */
  maxBytes?: number;
  /** Max growth of the JS heap plus external (ArrayBuffer) memory while the script runs. Default 64 MiB. */
  maxMemory?: number;
  /** Wall-clock deadline in milliseconds, library functions included. Default 2 000. */
  deadlineMs?: number;
}

const DEFAULTS = {
  maxInstructions: 1_000_000,
  maxBytes: 8 * 1024 * 1024,
  maxMemory: 64 * 1024 * 1024,
} as const;
/** Hook period in instructions: small, because `s = s .. s` doubles memory every few instructions. */
const HOOK_EVERY = 8;

function memoryInUse(): number {
  const h = getHeapStatistics();
  return h.used_heap_size + h.external_memory;
}
const MAX_DEPTH = 100;

type L = object;

function push(L: L, v: unknown, depth: number): void {
  if (depth > MAX_DEPTH) throw new LuaError('event data nested too deeply for Lua');
  if (v === null || v === undefined) lua.lua_pushnil(L);
  else if (typeof v === 'boolean') lua.lua_pushboolean(L, v);
  else if (typeof v === 'number') lua.lua_pushnumber(L, v);
  else if (typeof v === 'bigint') lua.lua_pushnumber(L, Number(v));
  else if (typeof v === 'string') lua.lua_pushstring(L, to_luastring(v));
  else if (Array.isArray(v)) {
    lua.lua_createtable(L, v.length, 0);
    v.forEach((x, i) => {
      push(L, x, depth + 1);
      lua.lua_rawseti(L, -2, i + 1);
    });
  } else if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    lua.lua_createtable(L, 0, keys.length);
    for (const k of keys) {
      push(L, o[k], depth + 1);
      lua.lua_setfield(L, -2, to_luastring(k));
    }
  } else lua.lua_pushnil(L);
}

function read(L: L, idx: number, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new LuaError('Lua result nested too deeply');
  const t = lua.lua_type(L, idx);
  switch (t) {
    case lua.LUA_TNIL:
      return null;
    case lua.LUA_TBOOLEAN:
      return lua.lua_toboolean(L, idx);
    case lua.LUA_TNUMBER:
      return lua.lua_tonumber(L, idx);
    case lua.LUA_TSTRING:
      return lua.lua_tojsstring(L, idx);
    case lua.LUA_TTABLE:
      return readTable(L, lua.lua_absindex(L, idx), depth);
    default:
      throw new LuaError(
        `cannot convert a Lua ${lua.lua_typename(L, t) ? fengari.to_jsstring(lua.lua_typename(L, t)) : 'value'} to JSON`,
      );
  }
}

function readTable(L: L, idx: number, depth: number): unknown {
  let forcedArray = false;
  if (lua.lua_getmetatable(L, idx)) {
    lua.lua_getfield(L, -1, to_luastring('__is_array'));
    forcedArray = lua.lua_toboolean(L, -1);
    lua.lua_pop(L, 2);
  }
  const entries: [string | number, unknown][] = [];
  lua.lua_pushnil(L);
  while (lua.lua_next(L, idx) !== 0) {
    const kt = lua.lua_type(L, -2);
    const key: string | number =
      kt === lua.LUA_TNUMBER
        ? lua.lua_tonumber(L, -2)
        : kt === lua.LUA_TSTRING
          ? lua.lua_tojsstring(L, -2)
          : String(kt);
    entries.push([key, read(L, -1, depth + 1)]);
    lua.lua_pop(L, 1);
  }
  const n = entries.length;
  const isSeq =
    n > 0 &&
    entries.every(([k]) => typeof k === 'number' && Number.isInteger(k) && k >= 1 && k <= n);
  if (forcedArray || isSeq) {
    const arr: unknown[] = new Array<unknown>(n).fill(null);
    for (const [k, v] of entries)
      if (typeof k === 'number' && Number.isInteger(k) && k >= 1 && k <= n) arr[k - 1] = v;
    return arr;
  }
  const o: Record<string, unknown> = {};
  for (const [k, v] of entries) o[String(k)] = v;
  return o;
}

/**
 * Runs `script` in this thread: bounded by the instruction hook, which does not run inside
 * library functions (a backtracking `string.find` can run for minutes). Use {@link runLua}.
 */
export function runLuaInThread(script: string, event: unknown, limits: LuaLimits = {}): unknown {
  if (typeof script !== 'string') throw new LuaError('script must be a string');
  const maxInstructions = limits.maxInstructions ?? DEFAULTS.maxInstructions;
  const maxBytes = limits.maxBytes ?? DEFAULTS.maxBytes;
  const maxMemory = limits.maxMemory ?? DEFAULTS.maxMemory;
  const baseline = memoryInUse();
  const L = lauxlib.luaL_newstate();
  try {
    for (const [name, open] of [
      ['_G', lualib.luaopen_base],
      ['string', lualib.luaopen_string],
      ['table', lualib.luaopen_table],
      ['math', lualib.luaopen_math],
      ['utf8', lualib.luaopen_utf8],
    ] as const) {
      lauxlib.luaL_requiref(L, to_luastring(name), open, 1);
      lua.lua_pop(L, 1);
    }
    for (const g of [
      'dofile',
      'loadfile',
      'load',
      'loadstring',
      'print',
      'collectgarbage',
      'require',
    ]) {
      lua.lua_pushnil(L);
      lua.lua_setglobal(L, to_luastring(g));
    }
    // Bounded string.rep: the one library call that builds large strings in one instruction.
    lua.lua_getglobal(L, to_luastring('string'));
    lua.lua_pushcfunction(L, (LL: L) => {
      const s = lauxlib.luaL_checklstring(LL, 1) as Uint8Array;
      const n = lauxlib.luaL_checkinteger(LL, 2) as number;
      const sep = lua.lua_isnoneornil(LL, 3)
        ? new Uint8Array(0)
        : (lauxlib.luaL_checklstring(LL, 3) as Uint8Array);
      if (n <= 0) {
        lua.lua_pushstring(LL, to_luastring(''));
        return 1;
      }
      if ((s.length + sep.length) * n > maxBytes)
        return lauxlib.luaL_error(
          LL,
          to_luastring(`string.rep result exceeds the memory limit of ${maxBytes} bytes`),
        );
      const out = new Uint8Array(s.length * n + sep.length * (n - 1));
      let off = 0;
      for (let i = 0; i < n; i++) {
        if (i > 0) {
          out.set(sep, off);
          off += sep.length;
        }
        out.set(s, off);
        off += s.length;
      }
      lua.lua_pushlstring(LL, out, out.length);
      return 1;
    });
    lua.lua_setfield(L, -2, to_luastring('rep'));
    lua.lua_pop(L, 1);

    let count = 0;
    lua.lua_sethook(
      L,
      (LL: L) => {
        count += HOOK_EVERY;
        if (count > maxInstructions)
          lauxlib.luaL_error(
            LL,
            to_luastring(`script exceeded the instruction limit of ${maxInstructions}`),
          );
        if (memoryInUse() - baseline > maxMemory)
          lauxlib.luaL_error(
            LL,
            to_luastring(`script exceeded the memory limit of ${maxMemory} bytes`),
          );
      },
      lua.LUA_MASKCOUNT,
      HOOK_EVERY,
    );
    push(L, event, 0);
    lua.lua_setglobal(L, to_luastring('event'));
    const st = lauxlib.luaL_loadstring(L, to_luastring(script));
    if (st !== lua.LUA_OK) throw new LuaError(`script syntax error: ${lua.lua_tojsstring(L, -1)}`);
    const rc = lua.lua_pcall(L, 0, 1, 0);
    if (rc !== lua.LUA_OK) {
      const msg =
        lua.lua_type(L, -1) === lua.LUA_TSTRING
          ? lua.lua_tojsstring(L, -1)
          : 'error object is not a string';
      throw new LuaError(`script failed: ${msg}`);
    }
    return read(L, -1, 0);
  } catch (e) {
    if (e instanceof LuaError) throw e;
    if (e instanceof RangeError)
      throw new LuaError(`script exceeded a resource limit: ${e.message}`);
    throw new LuaError(`script failed: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    lua.lua_close(L);
  }
}

/** Heap limits of the Lua worker: V8 stops it (and only it) when they are exceeded. */
const WORKER_LIMITS = { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 };
/** How long the worker may take to start (load fengari) before the first evaluation. */
const START_TIMEOUT_MS = 30_000;

interface LuaJob {
  script: string;
  event: unknown;
  limits: LuaLimits;
}
/** The worker's answer. */
export type LuaAnswer = { ok: true; value: unknown } | { ok: false; message: string };

interface LuaWorker {
  worker: Worker;
  port: MessagePort;
  /** [0] counts answers, [1] is 1 once the worker listens. */
  signal: Int32Array;
}
let current: LuaWorker | undefined;
/**
 * A worker started ahead, loading fengari in the background: a worker terminated after a missed
 * deadline is replaced at once, without the next evaluation (another Sensor's) waiting the
 * ~100 ms a worker takes to start.
 */
let spare: LuaWorker | undefined;

/** Starts a worker without waiting for it to listen. */
function spawnWorker(): LuaWorker {
  const signal = new Int32Array(new SharedArrayBuffer(8));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL('./lua.worker.js', import.meta.url), {
    workerData: { port: port2, signal },
    transferList: [port2],
    resourceLimits: WORKER_LIMITS,
    // not the process's flags: a service's `--import @ganglion/telemetry/register` would start
    // a second OpenTelemetry SDK in the worker
    execArgv: [],
    stdout: false,
    stderr: false,
  });
  worker.unref();
  port1.unref();
  // The worker's death (terminated, out of memory) is seen by the caller as a missed deadline.
  worker.on('error', () => undefined);
  return { worker, port: port1, signal };
}

/** The worker in service: the spare when there is one (then a new spare starts), else a new one. */
function takeWorker(): LuaWorker {
  if (current) return current;
  const w = spare ?? spawnWorker();
  spare = undefined;
  if (Atomics.wait(w.signal, 1, 0, START_TIMEOUT_MS) === 'timed-out') {
    w.port.close();
    void w.worker.terminate();
    throw new LuaError(`the Lua worker did not start within ${START_TIMEOUT_MS} ms`);
  }
  current = w;
  spare = spawnWorker();
  return w;
}

function dropWorker(w: LuaWorker): void {
  if (current === w) current = undefined;
  w.port.close();
  void w.worker.terminate();
}

/**
 * Runs `script` with the global `event` set to `event`, returning the chunk's first returned
 * value converted to JSON (tables become objects or arrays). Throws {@link LuaError}.
 *
 * The script runs in a worker thread with V8 heap limits, and the caller waits for it
 * synchronously (`Atomics.wait`) up to `deadlineMs`: a script stuck inside a library function
 * (a backtracking pattern) or exhausting the worker's heap misses the deadline, the worker is
 * terminated and replaced, and this throws; the process is never blocked longer nor killed.
 */
export function runLua(script: string, event: unknown, limits: LuaLimits = {}): unknown {
  if (typeof script !== 'string') throw new LuaError('script must be a string');
  const deadlineMs = limits.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const w = takeWorker();
  const seen = Atomics.load(w.signal, 0);
  const job: LuaJob = { script, event, limits };
  try {
    w.port.postMessage(job);
  } catch (e) {
    throw new LuaError(
      `event data cannot be passed to Lua: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (Atomics.wait(w.signal, 0, seen, deadlineMs) === 'timed-out') {
    dropWorker(w);
    throw new LuaError(`script exceeded its deadline of ${deadlineMs} ms`);
  }
  const msg = receiveMessageOnPort(w.port);
  if (!msg) {
    dropWorker(w);
    throw new LuaError('the Lua worker answered nothing');
  }
  const answer = msg.message as LuaAnswer;
  if (!answer.ok) throw new LuaError(answer.message);
  return answer.value;
}
