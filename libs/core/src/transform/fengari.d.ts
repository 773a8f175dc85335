/** Minimal typing of the pure-JS Lua 5.3 VM `fengari` (https://github.com/fengari-lua/fengari). */
declare module 'fengari' {
  type State = object;
  const fengari: {
    lua: Record<string, any>;
    lauxlib: Record<string, any>;
    lualib: Record<string, any>;
    to_luastring(s: string): Uint8Array;
    to_jsstring(s: Uint8Array): string;
  };
  export default fengari;
  export type { State };
}
