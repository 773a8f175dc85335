/**
 * The Lua VM side of `lua.sandbox.ts`: the pure-JS `fengari` VM, loaded only by the Lua worker
 * thread (`lua.worker.ts`), never by a service's main thread (fengari is ~0.6 MB of code a
 * service that evaluates no script would hold for nothing).
 */
import { getHeapStatistics } from 'node:v8';
import fengari from 'fengari';
import { LuaError, type LuaLimits } from './lua.sandbox.js';

const { lua, lauxlib, lualib, to_luastring } = fengari;

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
 * library functions (a backtracking `string.find` can run for minutes). Use `runLua` (lua.sandbox.ts).
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
