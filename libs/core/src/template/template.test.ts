import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseTemplate, renderInputTemplate, renderTemplate, TemplateError } from './index.js';

const now = (): Date => new Date(Date.UTC(2024, 0, 2, 3, 4, 5));
const input = {
  a: 'x',
  n: 1234567,
  small: 42,
  f: 1.5,
  arr: [1, 2, 3],
  m: { b: 'y', c: 2 },
  s: 'Hello World',
  t: true,
  empty: '',
};

describe('template rendering (Go text/template + sprig)', () => {
  const cases: [name: string, tpl: string, want: string][] = [
    ['field', '{{ .Input.a }}', 'x'],
    ['float64 prints like Go %v', '{{ .Input.n }}', '1.234567e+06'],
    ['small float prints plainly', '{{ .Input.small }} {{ .Input.f }}', '42 1.5'],
    ['missing key prints <no value>', '{{ .Input.missing }}', '<no value>'],
    ['map prints sorted', '{{ .Input.m }}', 'map[b:y c:2]'],
    ['slice prints', '{{ .Input.arr }}', '[1 2 3]'],
    ['trim markers', 'a  {{- " b " -}}  c', 'a b c'],
    ['comment', '{{/* note */}}ok', 'ok'],
    ['if else', '{{ if eq .Input.a "x" }}yes{{ else }}no{{ end }}', 'yes'],
    [
      'else if chain',
      '{{ if eq .Input.a "q" }}1{{ else if eq .Input.a "x" }}2{{ else }}3{{ end }}',
      '2',
    ],
    [
      'range with index',
      '{{ range $i, $v := .Input.arr }}{{ $i }}={{ $v }};{{ end }}',
      '0=1;1=2;2=3;',
    ],
    ['range over map sorted', '{{ range $k, $v := .Input.m }}{{ $k }}{{ end }}', 'bc'],
    ['range else', '{{ range .Input.missing }}x{{ else }}none{{ end }}', 'none'],
    [
      'range break',
      '{{ range .Input.arr }}{{ if eq . 2.0 }}{{ break }}{{ end }}{{ . }}{{ end }}',
      '1',
    ],
    ['with', '{{ with .Input.m }}{{ .b }}{{ end }}', 'y'],
    ['variables and assign', '{{ $x := 1 }}{{ $x = 2 }}{{ $x }}', '2'],
    ['dollar root', '{{ range .Input.arr }}{{ $.Input.a }}{{ end }}', 'xxx'],
    ['pipeline into function', '{{ .Input.s | upper }}', 'HELLO WORLD'],
    [
      'and or not',
      '{{ and .Input.a .Input.t }} {{ or .Input.empty "d" }} {{ not .Input.t }}',
      'true d false',
    ],
    [
      'comparisons',
      '{{ lt 1 2 }} {{ ge 2.5 2.5 }} {{ ne "a" "b" }} {{ eq 1 2 3 1 }}',
      'true true true true',
    ],
    [
      'len index',
      '{{ len .Input.arr }} {{ index .Input.arr 1 }} {{ index .Input.m "b" }}',
      '3 2 y',
    ],
    [
      'printf verbs',
      '{{ printf "%s %d %v %q %.2f" "a" 3 .Input.arr "q" 3.14159 }}',
      'a 3 [1 2 3] "q" 3.14',
    ],
    ['print and println', '{{ print 1 2 "a" }}|{{ println "x" 1 }}', '1 2a|x 1\n'],
    [
      'string functions',
      '{{ lower "AB" }} {{ title "hello world" }} {{ trim "  x " }} {{ trimPrefix "a" "abc" }} {{ trimSuffix "c" "abc" }}',
      'ab Hello World x bc ab',
    ],
    [
      'replace contains prefix suffix',
      '{{ replace "o" "0" "foo" }} {{ contains "ell" "hello" }} {{ hasPrefix "he" "hello" }} {{ hasSuffix "lo" "hello" }}',
      'f00 true true true',
    ],
    [
      'split splitList join',
      '{{ (split "," "a,b")._1 }} {{ splitList "," "a,b" | join "-" }}',
      'b a-b',
    ],
    [
      'default empty coalesce',
      '{{ default "d" .Input.missing }} {{ default "d" .Input.a }} {{ empty .Input.empty }} {{ coalesce .Input.empty "" "c" }}',
      'd x true c',
    ],
    [
      'toJson sorted and escaped',
      '{{ toJson (dict "b" 1 "a" "<x>") }}',
      '{"a":"\\u003cx\\u003e","b":1}',
    ],
    ['toPrettyJson', '{{ toPrettyJson (dict "a" (list 1)) }}', '{\n  "a": [\n    1\n  ]\n}'],
    ['fromJson', '{{ (fromJson "{\\"k\\":\\"v\\"}").k }} {{ (mustFromJson "[1]") }}', 'v [1]'],
    ['b64', '{{ b64enc "hi" }} {{ b64dec "aGk=" }}', 'aGk= hi'],
    [
      'quote squote cat',
      '{{ quote "a" "b" }} {{ squote "a" }} {{ cat "a" 1 }}',
      '"a" "b" \'a\' a 1',
    ],
    ['indent nindent', '{{ indent 2 "a\\nb" }}|{{ nindent 1 "c" }}', '  a\n  b|\n c'],
    [
      'substr trunc repeat',
      '{{ substr 1 3 "abcd" }} {{ trunc 2 "abcd" }} {{ repeat 3 "ab" }}',
      'bc ab ababab',
    ],
    [
      'list dict get set hasKey keys',
      '{{ $d := dict "a" 1 }}{{ $_ := set $d "b" 2 }}{{ get $d "b" }} {{ hasKey $d "a" }} {{ keys $d }} {{ list 1 "a" }}',
      '2 true [a b] [1 a]',
    ],
    [
      'numbers',
      '{{ add 1 2 3 }} {{ sub 5 2 }} {{ mul 2 3 }} {{ div 7 2 }} {{ mod 7 2 }} {{ max 1 5 3 }} {{ min 4 2 }}',
      '6 3 6 3 1 5 2',
    ],
    [
      'conversions',
      '{{ atoi "42" }} {{ int 3.9 }} {{ int64 "7" }} {{ float64 "1.5" }} {{ toString 5 }} {{ add .Input.small 1 }}',
      '42 3 7 1.5 5 43',
    ],
    [
      'now and date from injected clock',
      '{{ now | date "2006-01-02 15:04:05" }} {{ date "Jan 2" now }}',
      '2024-01-02 03:04:05 Jan 2',
    ],
    [
      'regex functions (RE2)',
      '{{ regexMatch "^H.*d$" .Input.s }} {{ regexFind "W[a-z]+" .Input.s }} {{ regexReplaceAll "o(.)" .Input.s "0${1}" }}',
      'true World Hell0 W0rld',
    ],
    [
      'sha256sum',
      '{{ sha256sum "abc" }}',
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    ],
    ['ternary', '{{ ternary "y" "n" .Input.t }}', 'y'],
    ['html urlquery', '{{ html "<a>" }} {{ urlquery "a b&c" }}', '&lt;a&gt; a+b%26c'],
    ['parenthesised field', '{{ (dict "k" "v").k }}', 'v'],
    ['char and raw string', "{{ 'a' }} {{ `r\\n` }}", '97 r\\n'],
  ];
  for (const [name, tpl, want] of cases)
    it(name, () => assert.equal(renderInputTemplate(tpl, input, { now }), want));

  it('uuidv4 uses injected randomness', () => {
    const out = renderTemplate(
      '{{ uuidv4 }}',
      {},
      { randomBytes: (n) => new Uint8Array(n).fill(0xab) },
    );
    assert.equal(out, 'abababab-abab-4bab-abab-abababababab');
  });

  const errors: [name: string, tpl: string, pattern: RegExp][] = [
    ['unclosed action', '{{ .Input', /unclosed action/],
    ['missing end', '{{ if true }}x', /missing \{\{end\}\}/],
    ['unexpected end', '{{ end }}', /unexpected \{\{end\}\}/],
    ['unknown function', '{{ nope 1 }}', /function "nope" not defined/],
    ['field of nil', '{{ .Input.missing.x }}', /nil pointer evaluating/],
    [
      'int float comparison like Go',
      '{{ eq .Input.small 1 }}',
      /incompatible types for comparison/,
    ],
    ['undefined variable', '{{ $y }}', /undefined variable/],
    ['division by zero', '{{ div 1 0 }}', /divide by zero/],
    ['step limit', '{{ range 100000000 }}x{{ end }}', /exceeded .* steps/],
    ['output limit', '{{ repeat 100000000 "x" }}', /limit/],
    ['bad regex', '{{ regexMatch "(" "x" }}', /error parsing regexp/],
    ['break outside range', '{{ break }}', /outside \{\{range\}\}/],
  ];
  for (const [name, tpl, pattern] of errors)
    it(`error: ${name}`, () =>
      assert.throws(
        () => renderInputTemplate(tpl, input, { now }),
        (e: unknown) => e instanceof TemplateError && pattern.test(e.message),
      ));

  it('deep nesting is rejected, not a stack overflow', () => {
    assert.throws(
      () => parseTemplate('{{ ' + '('.repeat(5000) + '1' + ')'.repeat(5000) + ' }}'),
      TemplateError,
    );
    assert.throws(() => parseTemplate('{{ if 1 }}'.repeat(5000)), TemplateError);
  });
});

describe('template limits (issue 17)', () => {
  it('24 doublings with cat fail on the value limit instead of building 285 MB', () => {
    const src =
      '{{ $s := "0123456789abcdef" }}' + '{{ $s = cat $s $s }}'.repeat(24) + '{{ len $s }}';
    const t = performance.now();
    assert.throws(
      () => renderTemplate(src, {}),
      (e: unknown) =>
        e instanceof TemplateError &&
        /value returned by cat exceeds the output limit of 1048576 characters/.test(e.message),
    );
    assert.ok(performance.now() - t < 2000, 'failed fast');
  });

  it('list doubling fails on the value size limit', () => {
    const src =
      '{{ $l := list "0123456789abcdef" }}' + '{{ $l = list $l $l }}'.repeat(40) + '{{ len $l }}';
    assert.throws(() => renderTemplate(src, {}), /exceeds the value size limit of 16777216 bytes/);
  });

  it('the deadline stops a long template', () => {
    assert.throws(
      () =>
        renderTemplate(
          '{{ range 100000000 }}x{{ end }}',
          {},
          { maxSteps: 1e12, maxOutput: 1e12, deadlineMs: 50 },
        ),
      /exceeded its deadline of 50 ms/,
    );
  });
});

describe('template fuzz', () => {
  const alphabet = fc.constantFrom(
    '{{',
    '}}',
    '{{-',
    '-}}',
    ' ',
    '.',
    '.Input',
    '$x',
    ':=',
    '=',
    '|',
    '(',
    ')',
    '"s"',
    '`r`',
    "'c'",
    '1',
    '2.5',
    'if',
    'else',
    'end',
    'range',
    'with',
    'eq',
    'len',
    'printf',
    'upper',
    'default',
    'index',
    'toJson',
    'break',
    ',',
    'x',
    '\n',
    '/*',
    '*/',
    'nil',
    'true',
  );
  it('random templates parse and execute or throw a TemplateError', () => {
    fc.assert(
      fc.property(fc.array(alphabet, { maxLength: 40 }), fc.jsonValue(), (parts, data) => {
        const src = parts.join('');
        try {
          renderInputTemplate(src, data, { now, maxSteps: 10_000 });
        } catch (e) {
          assert.ok(
            e instanceof TemplateError,
            `non-TemplateError for ${JSON.stringify(src)}: ${String(e)}`,
          );
          assert.ok(e.message.length > 0);
        }
      }),
      { numRuns: 2000 },
    );
  });
  it('arbitrary strings never crash the parser', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (src) => {
        try {
          parseTemplate(src);
        } catch (e) {
          assert.ok(e instanceof TemplateError, String(e));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
