/**
 * Lexer and parser for Go `text/template` (https://pkg.go.dev/text/template), the template
 * language Argo Events uses for `dataTemplate`, `contextTemplate` and data-filter `template`
 * (`pkg/sensors/triggers/params.go`, `pkg/sensors/dependencies/filter.go`). A template is
 * parsed once into an AST ({@link TemplateNode}) and executed many times.
 *
 * Supported: text and `{{ }}` actions with `{{-`/`-}}` trimming, comments, pipelines, field
 * chains (`.A.B`, `$x.A`, `(pipe).A`), variables (`$x :=`, `$x =`, `$i, $v :=`), `if`/`else
 * if`/`else`/`end`, `range` (with `else`, `break`, `continue`), `with` (with `else`), and
 * string/raw-string/char/number/bool/nil literals. Not supported: `define`/`template`/`block`.
 */

export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** Limits that bound parsing; templates come from user manifests. */
const PARSE_LIMITS = { maxLength: 256 * 1024, maxDepth: 64 } as const;

// ---------------------------------------------------------------------------- AST

export type Operand =
  | { t: 'dot' }
  | { t: 'field'; recv: Operand | undefined; names: string[] }
  | { t: 'var'; name: string; names: string[] }
  | { t: 'ident'; name: string }
  | { t: 'lit'; value: unknown }
  | { t: 'pipe'; pipe: Pipeline; names: string[] };

export interface Command {
  args: Operand[];
}

export interface Pipeline {
  decl: string[];
  /** `:=` declares, `=` assigns an existing variable. */
  assign: boolean;
  cmds: Command[];
}

export type TemplateNode =
  | { t: 'text'; text: string }
  | { t: 'action'; pipe: Pipeline }
  | { t: 'if' | 'with'; pipe: Pipeline; list: TemplateNode[]; elseList: TemplateNode[] | undefined }
  | { t: 'range'; pipe: Pipeline; list: TemplateNode[]; elseList: TemplateNode[] | undefined }
  | { t: 'break' }
  | { t: 'continue' };

/** A parsed template: parse once with {@link parseTemplate}, run with `executeTemplate`. */
export interface ParsedTemplate {
  source: string;
  root: TemplateNode[];
}

// ---------------------------------------------------------------------------- lexer

type Tok =
  | { k: 'text'; v: string }
  | { k: 'open' }
  | { k: 'close' }
  | { k: 'field'; v: string; adj: boolean }
  | { k: 'ident' | 'var' | 'str' | 'num' | 'char'; v: string }
  | { k: 'dot' | 'lparen' | 'rparen' | 'pipe' | 'declare' | 'assign' | 'comma' };

const isSpace = (c: string | undefined): boolean =>
  c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isAlnum = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_]/.test(c);

function unquote(raw: string, pos: number): string {
  const q = raw[0];
  if (q === '`') return raw.slice(1, -1);
  const body = raw.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = body[++i];
    switch (n) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case '\\':
        out += '\\';
        break;
      case '"':
        out += '"';
        break;
      case "'":
        out += "'";
        break;
      case 'a':
        out += '\x07';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'v':
        out += '\v';
        break;
      case '0':
        out += '\0';
        break;
      case 'x':
      case 'u':
      case 'U': {
        const len = n === 'x' ? 2 : n === 'u' ? 4 : 8;
        const hex = body.slice(i + 1, i + 1 + len);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len)
          throw new TemplateError(`invalid escape in quoted string at offset ${pos}`);
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff)
          throw new TemplateError(`invalid escape in quoted string at offset ${pos}`);
        out += String.fromCodePoint(cp);
        i += len;
        break;
      }
      default:
        throw new TemplateError(`invalid escape \\${n ?? ''} in quoted string at offset ${pos}`);
    }
  }
  return out;
}

function lex(src: string): Tok[] {
  if (src.length > PARSE_LIMITS.maxLength)
    throw new TemplateError(`template is longer than ${PARSE_LIMITS.maxLength} characters`);
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (open < 0) {
      if (text) toks.push({ k: 'text', v: text });
      break;
    }
    let j = open + 2;
    // `{{- ` trims the whitespace before the action.
    if (src[j] === '-' && isSpace(src[j + 1])) {
      text = text.replace(/[ \t\r\n]+$/, '');
      j += 1;
    }
    if (text) toks.push({ k: 'text', v: text });
    // Comments: {{/* ... */}}
    let k = j;
    while (isSpace(src[k])) k++;
    if (src.startsWith('/*', k)) {
      const end = src.indexOf('*/', k + 2);
      if (end < 0) throw new TemplateError(`unclosed comment at offset ${open}`);
      let m = end + 2;
      while (isSpace(src[m])) m++;
      let trimAfter = false;
      if (src[m] === '-' && src.startsWith('}}', m + 1)) {
        trimAfter = true;
        m++;
      }
      if (!src.startsWith('}}', m))
        throw new TemplateError(`comment ends before closing delimiter at offset ${open}`);
      i = m + 2;
      if (trimAfter) while (isSpace(src[i])) i++;
      continue;
    }
    toks.push({ k: 'open' });
    i = j;
    for (;;) {
      if (i >= src.length) throw new TemplateError(`unclosed action starting at offset ${open}`);
      const c = src[i]!;
      if (isSpace(c)) {
        if (src[i + 1] === '-' && src.startsWith('}}', i + 2)) {
          toks.push({ k: 'close' });
          i += 4;
          while (isSpace(src[i])) i++;
          break;
        }
        i++;
        continue;
      }
      if (src.startsWith('}}', i)) {
        toks.push({ k: 'close' });
        i += 2;
        break;
      }
      if (c === '"' || c === '`' || c === "'") {
        let e = i + 1;
        while (e < src.length && src[e] !== c) {
          if (c !== '`' && src[e] === '\\') e++;
          if (c !== '`' && src[e] === '\n')
            throw new TemplateError(`unterminated quoted string at offset ${i}`);
          e++;
        }
        if (e >= src.length) throw new TemplateError(`unterminated quoted string at offset ${i}`);
        const raw = src.slice(i, e + 1);
        const v = unquote(raw, i);
        if (c === "'") {
          const cps = [...v];
          if (cps.length !== 1)
            throw new TemplateError(`malformed character constant ${raw} at offset ${i}`);
          toks.push({ k: 'char', v: String(cps[0]!.codePointAt(0)) });
        } else toks.push({ k: 'str', v });
        i = e + 1;
        continue;
      }
      if (c === '(') {
        toks.push({ k: 'lparen' });
        i++;
        continue;
      }
      if (c === ')') {
        toks.push({ k: 'rparen' });
        i++;
        continue;
      }
      if (c === '|') {
        toks.push({ k: 'pipe' });
        i++;
        continue;
      }
      if (c === ',') {
        toks.push({ k: 'comma' });
        i++;
        continue;
      }
      if (c === ':' && src[i + 1] === '=') {
        toks.push({ k: 'declare' });
        i += 2;
        continue;
      }
      if (c === '=') {
        toks.push({ k: 'assign' });
        i++;
        continue;
      }
      if (c === '$') {
        let e = i + 1;
        while (isAlnum(src[e])) e++;
        toks.push({ k: 'var', v: src.slice(i, e) });
        i = e;
        continue;
      }
      if (c === '.' && !/[0-9]/.test(src[i + 1] ?? '')) {
        if (isAlnum(src[i + 1])) {
          let e = i + 1;
          while (isAlnum(src[e])) e++;
          // `adj`: directly after a value (no space), so it continues a field chain: `$x.A`, `(p).A`.
          toks.push({
            k: 'field',
            v: src.slice(i + 1, e),
            adj: i > 0 && !isSpace(src[i - 1]) && src[i - 1] !== '(',
          });
          i = e;
        } else {
          toks.push({ k: 'dot' });
          i++;
        }
        continue;
      }
      const num =
        /^[+-]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(\d[\d_]*)?\.?\d[\d_]*([eE][+-]?\d+)?)/.exec(
          src.slice(i, i + 64),
        );
      if (num && num[0] && /[0-9]/.test(num[0])) {
        toks.push({ k: 'num', v: num[0] });
        i += num[0].length;
        continue;
      }
      if (/[A-Za-z_]/.test(c)) {
        let e = i;
        while (isAlnum(src[e])) e++;
        toks.push({ k: 'ident', v: src.slice(i, e) });
        i = e;
        continue;
      }
      throw new TemplateError(`unexpected character ${JSON.stringify(c)} in action at offset ${i}`);
    }
  }
  return toks;
}

// ---------------------------------------------------------------------------- parser

function parseNumber(s: string): unknown {
  const clean = s.replace(/_/g, '');
  if (/^[+-]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|\d+)$/.test(clean)) {
    const neg = clean.startsWith('-');
    const body = clean.replace(/^[+-]/, '');
    const oct = /^0[0-7]+$/.test(body) ? '0o' + body.slice(1) : body;
    const v = BigInt(oct.replace(/^0[oO]/, '0o'));
    return neg ? -v : v;
  }
  const f = Number(clean);
  if (!Number.isFinite(f)) throw new TemplateError(`illegal number syntax: ${s}`);
  return f;
}

class Parser {
  private pos = 0;
  private depth = 0;
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok | undefined {
    return this.toks[this.pos];
  }
  private next(): Tok {
    const t = this.toks[this.pos++];
    if (!t) throw new TemplateError('unexpected end of template');
    return t;
  }
  private expect(k: Tok['k'], what: string): Tok {
    const t = this.next();
    if (t.k !== k) throw new TemplateError(`expected ${what}, found ${describe(t)}`);
    return t;
  }

  /** Parses a list of nodes until `{{end}}`/`{{else}}` (returned as the terminator) or EOF. */
  list(
    inControl: string | undefined,
    inRange: boolean,
  ): { nodes: TemplateNode[]; term: 'end' | 'else' | 'eof' } {
    if (++this.depth > PARSE_LIMITS.maxDepth)
      throw new TemplateError(`template nesting deeper than ${PARSE_LIMITS.maxDepth}`);
    const nodes: TemplateNode[] = [];
    try {
      for (;;) {
        const t = this.peek();
        if (!t) {
          if (inControl)
            throw new TemplateError(`unexpected EOF: missing {{end}} for {{${inControl}}}`);
          return { nodes, term: 'eof' };
        }
        this.pos++;
        if (t.k === 'text') {
          nodes.push({ t: 'text', text: t.v });
          continue;
        }
        if (t.k !== 'open') throw new TemplateError(`unexpected ${describe(t)}`);
        const kw = this.peek();
        if (kw?.k === 'ident') {
          switch (kw.v) {
            case 'end':
              this.pos++;
              this.expect('close', '}} after end');
              if (!inControl) throw new TemplateError('unexpected {{end}}');
              return { nodes, term: 'end' };
            case 'else':
              this.pos++;
              if (!inControl) throw new TemplateError('unexpected {{else}}');
              return { nodes, term: 'else' };
            case 'if':
            case 'with':
            case 'range':
              this.pos++;
              nodes.push(this.control(kw.v, inRange));
              continue;
            case 'break':
            case 'continue':
              this.pos++;
              this.expect('close', `}} after ${kw.v}`);
              if (!inRange) throw new TemplateError(`{{${kw.v}}} outside {{range}}`);
              nodes.push({ t: kw.v });
              continue;
            case 'define':
            case 'template':
            case 'block':
              throw new TemplateError(`{{${kw.v}}} is not supported`);
          }
        }
        const pipe = this.pipeline(true);
        this.expect('close', '}}');
        nodes.push({ t: 'action', pipe });
      }
    } finally {
      this.depth--;
    }
  }

  private control(kind: 'if' | 'with' | 'range', inRange: boolean): TemplateNode {
    const pipe = this.pipeline(true);
    this.expect('close', `}} after {{${kind}}}`);
    const bodyInRange = kind === 'range' || inRange;
    const body = this.list(kind, bodyInRange);
    let elseList: TemplateNode[] | undefined;
    if (body.term === 'else') {
      const nx = this.peek();
      if (nx?.k === 'ident' && (nx.v === 'if' || nx.v === 'with') && kind !== 'range') {
        // `{{else if ...}}` is `{{else}}{{if ...}}...{{end}}{{end}}` sharing the outer end.
        this.pos++;
        elseList = [this.control(nx.v, inRange)];
      } else {
        this.expect('close', '}} after else');
        const e = this.list(kind, inRange);
        if (e.term !== 'end')
          throw new TemplateError(`expected {{end}} after {{else}} of {{${kind}}}`);
        elseList = e.nodes;
      }
    }
    return { t: kind, pipe, list: body.nodes, elseList } as TemplateNode;
  }

  pipeline(allowDecl: boolean): Pipeline {
    const decl: string[] = [];
    let assign = false;
    if (allowDecl && this.peek()?.k === 'var') {
      const save = this.pos;
      const names: string[] = [];
      names.push((this.next() as { v: string }).v);
      if (this.peek()?.k === 'comma') {
        this.pos++;
        const v2 = this.next();
        if (v2.k === 'var') names.push(v2.v);
        else this.pos = save;
      }
      const op = this.peek();
      if (this.pos !== save && (op?.k === 'declare' || op?.k === 'assign')) {
        this.pos++;
        decl.push(...names);
        assign = op.k === 'assign';
      } else this.pos = save;
    }
    const cmds: Command[] = [];
    for (;;) {
      const args: Operand[] = [];
      for (;;) {
        const t = this.peek();
        if (!t || t.k === 'close' || t.k === 'rparen' || t.k === 'pipe') break;
        args.push(this.operand());
      }
      if (args.length === 0)
        throw new TemplateError(
          cmds.length ? 'missing command after |' : 'missing value for command',
        );
      cmds.push({ args });
      if (this.peek()?.k === 'pipe') {
        this.pos++;
        continue;
      }
      break;
    }
    return { decl, assign, cmds };
  }

  private fieldChain(): string[] {
    const names: string[] = [];
    for (let t = this.peek(); t?.k === 'field' && t.adj; t = this.peek())
      names.push((this.next() as { v: string }).v);
    return names;
  }

  private operand(): Operand {
    const t = this.next();
    switch (t.k) {
      case 'dot':
        return { t: 'dot' };
      case 'field': {
        const names = [t.v, ...this.fieldChain()];
        return { t: 'field', recv: undefined, names };
      }
      case 'var':
        return { t: 'var', name: t.v, names: this.fieldChain() };
      case 'str':
        return { t: 'lit', value: t.v };
      case 'char':
        return { t: 'lit', value: BigInt(t.v) };
      case 'num':
        return { t: 'lit', value: parseNumber(t.v) };
      case 'ident':
        if (t.v === 'true' || t.v === 'false') return { t: 'lit', value: t.v === 'true' };
        if (t.v === 'nil') return { t: 'lit', value: null };
        if (
          [
            'end',
            'else',
            'if',
            'range',
            'with',
            'define',
            'template',
            'block',
            'break',
            'continue',
          ].includes(t.v)
        )
          throw new TemplateError(`unexpected keyword ${t.v} in operand`);
        return { t: 'ident', name: t.v };
      case 'lparen': {
        if (++this.depth > PARSE_LIMITS.maxDepth)
          throw new TemplateError(`template nesting deeper than ${PARSE_LIMITS.maxDepth}`);
        const pipe = this.pipeline(true);
        this.depth--;
        this.expect('rparen', ')');
        return { t: 'pipe', pipe, names: this.fieldChain() };
      }
      default:
        throw new TemplateError(`unexpected ${describe(t)} in operand`);
    }
  }
}

function describe(t: Tok): string {
  switch (t.k) {
    case 'open':
      return '{{';
    case 'close':
      return '}}';
    case 'text':
      return 'text';
    case 'lparen':
      return '(';
    case 'rparen':
      return ')';
    case 'pipe':
      return '|';
    case 'comma':
      return ',';
    case 'declare':
      return ':=';
    case 'assign':
      return '=';
    case 'dot':
      return '.';
    default:
      return `${t.k} ${JSON.stringify(t.v)}`;
  }
}

/** Parses a Go text/template source once; throws {@link TemplateError} on malformed input. */
export function parseTemplate(source: string): ParsedTemplate {
  if (typeof source !== 'string') throw new TemplateError('template must be a string');
  const p = new Parser(lex(source));
  const { nodes } = p.list(undefined, false);
  return { source, root: nodes };
}
