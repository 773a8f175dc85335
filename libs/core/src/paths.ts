/**
 * Path access over JSON values with the gjson/sjson path syntax used by Argo Events
 * (`dataKey`, `contextKey`, `dest`): dot-separated keys, `\.` escapes a dot inside a key,
 * numeric components index arrays, `#` is an array's length (get), `-1` appends (set).
 * See https://github.com/tidwall/gjson/blob/master/SYNTAX.md
 */

/** Splits a path into components, honouring `\` escapes. */
function splitPath(path: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < path.length; i++) {
    const ch = path[i]!;
    if (ch === '\\' && i + 1 < path.length) {
      cur += path[++i];
    } else if (ch === '.') {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

const isIndex = (s: string): boolean => /^(0|[1-9]\d*)$/.test(s);

/**
 * Reads the value at `path`; `undefined` when any component is missing.
 * `#` followed by more components projects over an array as gjson does
 * (`friends.#.first` → every element's `first`, elements without it left out).
 */
export function getPath(value: unknown, path: string): unknown {
  return getParts(value, splitPath(path));
}

function getParts(value: unknown, parts: readonly string[]): unknown {
  let cur: unknown = value;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (Array.isArray(cur)) {
      if (part === '#' && i < parts.length - 1) {
        const rest = parts.slice(i + 1);
        return cur.map((el) => getParts(el, rest)).filter((v) => v !== undefined);
      }
      if (part === '#') cur = cur.length;
      else if (isIndex(part)) cur = cur[Number(part)];
      else return undefined;
    } else if (typeof cur === 'object' && cur !== null) {
      if (!Object.prototype.hasOwnProperty.call(cur, part)) return undefined;
      cur = (cur as Record<string, unknown>)[part];
    } else return undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

/**
 * Returns a copy of `doc` with `value` written at `path`, creating objects (or arrays, for
 * numeric components) on the way. `-1` as an array index appends. An empty path replaces
 * the whole document.
 */
export function setPath(doc: unknown, path: string, value: unknown): unknown {
  if (path === '') return value;
  const parts = splitPath(path);
  const write = (node: unknown, i: number): unknown => {
    const part = parts[i]!;
    const last = i === parts.length - 1;
    if (Array.isArray(node) && (isIndex(part) || part === '-1')) {
      const copy = node.slice();
      const idx = part === '-1' ? copy.length : Number(part);
      while (copy.length < idx) copy.push(null);
      copy[idx] = last ? value : write(copy[idx], i + 1);
      return copy;
    }
    const base: Record<string, unknown> =
      typeof node === 'object' && node !== null && !Array.isArray(node)
        ? { ...(node as Record<string, unknown>) }
        : {};
    if ((node === undefined || node === null) && (isIndex(part) || part === '-1')) {
      return write([], i);
    }
    base[part] = last ? value : write(base[part], i + 1);
    return base;
  };
  return write(doc, 0);
}
