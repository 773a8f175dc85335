/**
 * Go value semantics the template engine needs: `fmt` printing (`%v`, `%s`, `%d`, `%q`, `%f`),
 * truthiness, emptiness, and `encoding/json` marshalling (sorted keys, HTML escaping).
 *
 * Value model: a JSON number is a Go `float64` (JS `number`), a Go integer (literals, `len`,
 * sprig arithmetic) is a JS `bigint`, `null`/`undefined` are Go nil, a {@link GoTime} is a
 * `time.Time`. This keeps Go's printing differences visible: `float64(1234567)` prints as
 * `1.234567e+06`, an int as `1234567`.
 */

/** A Go `time.Time` (UTC). */
export class GoTime {
  constructor(readonly ms: number) {}
}

/** strconv.FormatFloat(f, 'g', -1, 64), as `%v` prints a float64. */
function formatGoFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  const [mant, expStr] = f.toExponential().split('e') as [string, string];
  const exp = Number(expStr);
  if (exp < -4 || exp >= 21) {
    const e = Math.abs(exp);
    return `${mant}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' + e : e}`;
  }
  if (exp >= 6 && exp < 21) {
    const e = Math.abs(exp);
    return `${mant}e+${e < 10 ? '0' + e : e}`;
  }
  return String(f);
}

/** Go's `strconv.Quote` (ASCII-preserving variant is not needed: non-ASCII printable passes through). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** `time.Time.String()` for UTC: `2006-01-02 15:04:05.999999999 +0000 UTC`. */
function formatGoTime(t: GoTime): string {
  const d = new Date(t.ms);
  const ms = d.getUTCMilliseconds();
  const frac = ms ? '.' + String(ms).padStart(3, '0').replace(/0+$/, '') : '';
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}${frac} +0000 UTC`;
}

/** `fmt.Sprint("%v", v)`: Go's default formatting. */
export function formatV(v: unknown, depth = 0): string {
  if (depth > 64) return '...';
  if (v === null || v === undefined) return '<nil>';
  switch (typeof v) {
    case 'string':
      return v;
    case 'bigint':
      return v.toString();
    case 'number':
      return formatGoFloat(v);
    case 'boolean':
      return v ? 'true' : 'false';
  }
  if (v instanceof GoTime) return formatGoTime(v);
  if (Array.isArray(v)) return '[' + v.map((x) => formatV(x, depth + 1)).join(' ') + ']';
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return (
      'map[' +
      Object.keys(o)
        .sort()
        .map((k) => `${k}:${formatV(o[k], depth + 1)}`)
        .join(' ') +
      ']'
    );
  }
  return String(v);
}

/** Go `text/template` truth: false, 0, nil, and empty strings, slices and maps are false. */
export function truth(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  switch (typeof v) {
    case 'boolean':
      return v;
    case 'string':
      return v.length > 0;
    case 'number':
      return v !== 0;
    case 'bigint':
      return v !== 0n;
  }
  if (v instanceof GoTime) return true;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

/** sprig `empty`: the Go zero value test (a time is never empty here). */
export function isEmpty(v: unknown): boolean {
  return !truth(v);
}

const htmlEscapes: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/** `encoding/json.Marshal`: map keys sorted, `<>&` escaped; indent for `MarshalIndent`. */
export function goJson(v: unknown, indent = '', depth = 0): string {
  if (depth > 256) throw new Error('json: value nested too deeply');
  const nl = indent ? '\n' + indent.repeat(depth + 1) : '';
  const end = indent ? '\n' + indent.repeat(depth) : '';
  const sep = indent ? ': ' : ':';
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => htmlEscapes[c]!);
    case 'bigint':
      return v.toString();
    case 'number':
      if (!Number.isFinite(v)) throw new Error(`json: unsupported value: ${formatGoFloat(v)}`);
      return jsonFloat(v);
    case 'boolean':
      return String(v);
  }
  if (v instanceof GoTime)
    return JSON.stringify(new Date(v.ms).toISOString().replace('.000Z', 'Z'));
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return '[' + v.map((x) => nl + goJson(x, indent, depth + 1)).join(',') + end + ']';
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o).sort();
    if (keys.length === 0) return '{}';
    return (
      '{' +
      keys.map((k) => nl + goJson(k) + sep + goJson(o[k], indent, depth + 1)).join(',') +
      end +
      '}'
    );
  }
  return 'null';
}

/** encoding/json float64 format: ES number formatting matches Go's for finite floats. */
function jsonFloat(f: number): string {
  return String(f);
}

/** Formats `printf`-style verbs: %s %d %v %q %f %t %x %% with optional width/precision. */
export function goSprintf(format: string, args: readonly unknown[]): string {
  let out = '';
  let ai = 0;
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    const m = /^([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/.exec(format.slice(i + 1));
    if (!m) {
      out += '%!(NOVERB)';
      continue;
    }
    i += m[0].length;
    const flags = m[1] ?? '';
    const width = m[2] ? Number(m[2]) : 0;
    const prec = m[3] !== undefined ? Number(m[3]) : undefined;
    const verb = m[4]!;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (ai >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const a = args[ai++];
    let s: string;
    switch (verb) {
      case 'v':
        s = formatV(a);
        break;
      case 's':
        s = typeof a === 'string' ? a : formatV(a);
        if (prec !== undefined) s = [...s].slice(0, prec).join('');
        break;
      case 'q':
        s =
          typeof a === 'string'
            ? goQuote(a)
            : typeof a === 'bigint'
              ? `'${String.fromCodePoint(Number(a))}'`
              : `%!q(${formatV(a)})`;
        break;
      case 'd':
        s = typeof a === 'bigint' ? a.toString() : `%!d(${typeName(a)}=${formatV(a)})`;
        break;
      case 't':
        s = typeof a === 'boolean' ? String(a) : `%!t(${typeName(a)}=${formatV(a)})`;
        break;
      case 'x':
      case 'X':
        s =
          typeof a === 'bigint'
            ? a.toString(16)
            : typeof a === 'string'
              ? Buffer.from(a, 'utf8').toString('hex')
              : `%!${verb}(${typeName(a)}=${formatV(a)})`;
        if (verb === 'X') s = s.toUpperCase();
        break;
      case 'f':
      case 'F':
      case 'e':
      case 'g': {
        const f = typeof a === 'number' ? a : typeof a === 'bigint' ? undefined : undefined;
        if (f === undefined) {
          s = `%!${verb}(${typeName(a)}=${formatV(a)})`;
          break;
        }
        if (verb === 'e') s = f.toExponential(prec ?? 6).replace(/e([+-])(\d)$/, 'e$10$2');
        else if (verb === 'g')
          s = prec === undefined ? formatGoFloat(f) : String(Number(f.toPrecision(prec)));
        else s = f.toFixed(prec ?? 6);
        if (flags.includes('+') && f >= 0) s = '+' + s;
        break;
      }
      default:
        s = `%!${verb}(${typeName(a)}=${formatV(a)})`;
    }
    if (width > s.length)
      s = flags.includes('-')
        ? s.padEnd(width)
        : flags.includes('0') && verb !== 's'
          ? s.padStart(width, '0')
          : s.padStart(width);
    out += s;
  }
  if (ai < args.length)
    out +=
      '%!(EXTRA ' +
      args
        .slice(ai)
        .map((a) => `${typeName(a)}=${formatV(a)}`)
        .join(', ') +
      ')';
  return out;
}

/** The Go type name of a template value, for error messages. */
export function typeName(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'bigint':
      return 'int';
    case 'number':
      return 'float64';
    case 'boolean':
      return 'bool';
  }
  if (v instanceof GoTime) return 'time.Time';
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}
