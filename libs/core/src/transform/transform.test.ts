import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  applyTransform,
  compileJq,
  JqError,
  runJq,
  runLua,
  LuaError,
  TransformError,
} from './index.js';

const data = {
  a: 'x',
  n: 3,
  arr: [1, 2, 3],
  items: [
    { name: 'a', v: 1 },
    { name: 'b', v: 2 },
  ],
  body: { x: { y: 'z' } },
};

describe('jq engine', () => {
  const cases: [name: string, program: string, want: unknown[]][] = [
    ['identity', '.', [data]],
    ['field path', '.body.x.y', ['z']],
    ['quoted field', '."a"', ['x']],
    ['missing field is null', '.nope', [null]],
    ['index and slice', '[.arr[0], .arr[-1], .arr[1:]]', [[1, 3, [2, 3]]]],
    ['iterate', '.arr[]', [1, 2, 3]],
    ['pipe and map', '.arr | map(. * 2)', [[2, 4, 6]]],
    ['select', '.items[] | select(.v > 1) | .name', ['b']],
    [
      'object construction',
      '{name: .a, total: (.arr | add), a, "k": 1, (.a): 2}',
      [{ name: 'x', total: 6, a: 'x', k: 1, x: 2 }],
    ],
    ['array construction', '[.items[].name]', [['a', 'b']]],
    ['string interpolation', '"v=\\(.n + 1) \\(.a)"', ['v=4 x']],
    ['comparison', '[.n == 3, .n != 3, .n < 4, .a >= "y"]', [[true, false, true, false]]],
    ['alternative', '[.nope // "d", .a // "d", (false // 1)]', [['d', 'x', 1]]],
    ['if then elif else', 'if .n > 5 then "big" elif .n > 2 then "mid" else "small" end', ['mid']],
    [
      'and or not',
      '[(.n > 1 and .a == "x"), (false or null), (true | not)]',
      [[true, false, false]],
    ],
    ['arithmetic', '[.n + 1, .n - 1, .n * 2, .n / 2, .n % 2, -.n]', [[4, 2, 6, 1.5, 1, -3]]],
    [
      'has keys length',
      '[has("a"), (keys | length), (.a | length), (.arr | length)]',
      [[true, 5, 1, 3]],
    ],
    ['variables', '.a as $v | .arr | map(tostring + $v)', [['1x', '2x', '3x']]],
    ['reduce', 'reduce .arr[] as $x (0; . + $x)', [6]],
    ['assignment', '.body.x.y = "w" | .body', [{ x: { y: 'w' } }]],
    ['update assignment', '.arr |= map(. + 1) | .arr', [[2, 3, 4]]],
    ['entries', 'to_entries | map(.key) | join(",")', ['a,n,arr,items,body']],
    ['with_entries', '.body | with_entries(.key |= ascii_upcase)', [{ X: { y: 'z' } }]],
    ['del', 'del(.items, .body) | keys', [['a', 'arr', 'n']]],
    [
      'sort_by group_by unique',
      '[(.items | sort_by(-.v) | .[0].name), ([3,1,3] | unique), ([1,2,3] | group_by(. % 2))]',
      [['b', [1, 3], [[2], [1, 3]]]],
    ],
    [
      'string functions',
      '["a,b" | split(","), ("abc" | test("^a")), ("abc" | ltrimstr("a")), ("x" | ascii_upcase), ("abc" | sub("b"; "B"))]',
      [[['a', 'b'], true, 'bc', 'X', 'aBc']],
    ],
    ['try catch', 'try error("boom") catch .', ['boom']],
    ['optional', '[.a.b?]', [[]]],
    ['tojson fromjson', '.arr | tojson | fromjson', [[1, 2, 3]]],
    ['format strings', '[.a | @base64, @json]', [['eA==', '"x"']]],
    ['recurse', '[.. | numbers]', [[3, 1, 2, 3, 1, 2]]],
    ['comma outputs', '.a, .n', ['x', 3]],
  ];
  for (const [name, program, want] of cases)
    it(name, () => assert.deepEqual(runJq(compileJq(program), data), want));

  const errors: [name: string, program: string, pattern: RegExp][] = [
    ['syntax error', '.a |', /syntax error/],
    ['unterminated string', '"abc', /unterminated/],
    ['index a string', '.a.b', /cannot index string/],
    ['unknown function', 'nope(1)', /nope\/1 is not defined/],
    ['add incompatible', '.a + 1', /cannot be added/],
    ['step limit', '[range(100000000)]', /exceeded .* steps/],
    ['def unsupported', 'def f: 1; f', /def is not supported/],
  ];
  for (const [name, program, pattern] of errors)
    it(`error: ${name}`, () =>
      assert.throws(
        () => runJq(compileJq(program), data),
        (e: unknown) => e instanceof JqError && pattern.test(e.message),
      ));
});

describe('applyTransform', () => {
  it('no transform returns data unchanged', () =>
    assert.equal(applyTransform(undefined, data), data));
  it('jq transform returns the first output object', () =>
    assert.deepEqual(applyTransform({ jq: '{a: .a}, {b: 1}' }, data), { a: 'x' }));
  it('jq transform must produce an object', () =>
    assert.throws(() => applyTransform({ jq: '.arr' }, data), /must produce a JSON object/));
  it('jq transform on JSON text data', () =>
    assert.deepEqual(applyTransform({ jq: '.' }, '{"k":1}'), { k: 1 }));
  it('non-JSON data is an error', () =>
    assert.throws(() => applyTransform({ jq: '.' }, 'not json'), TransformError));
  it('lua transform returns a table', () =>
    assert.deepEqual(
      applyTransform({ script: 'event.a = "changed"; event.extra = {1, 2}; return event' }, data),
      { ...data, a: 'changed', extra: [1, 2] },
    ));
  it('lua __is_array metatable forces an array', () =>
    assert.deepEqual(
      applyTransform(
        { script: 'event.list = setmetatable({}, {__is_array = true}); return event' },
        { a: 1 },
      ),
      { a: 1, list: [] },
    ));
  it('lua transform must return a table', () =>
    assert.throws(() => applyTransform({ script: 'return 1' }, data), /must return a table/));
  it('runaway lua transform fails with a clear error', () =>
    assert.throws(
      () => applyTransform({ script: 'while true do end' }, data),
      /instruction limit/,
    ));
  it('lua memory bomb fails with a clear error', () =>
    assert.throws(
      () => runLua('local s = "x" for i = 1, 40 do s = s .. s end return s', {}),
      (e: unknown) => e instanceof LuaError && /memory limit/.test(e.message),
    ));
  it('lua has no io or os', () => assert.throws(() => runLua('return os.time()', {}), /nil value/));
});

describe('transform fuzz', () => {
  const tok = fc.constantFrom(
    '.',
    '.a',
    '.arr',
    '[]',
    '[',
    ']',
    '|',
    ',',
    '(',
    ')',
    '{',
    '}',
    ':',
    '"s"',
    '"\\(.n)"',
    '1',
    '+',
    '-',
    '*',
    '/',
    '%',
    '==',
    '<',
    'and',
    'or',
    'not',
    'if',
    'then',
    'else',
    'end',
    'map(',
    'select(',
    'keys',
    'length',
    '//',
    '$x',
    'as',
    '?',
    '..',
    'reduce',
    ';',
    '=',
    '|=',
    'range(',
    'try',
    'catch',
  );
  it('random jq programs give outputs or a JqError', () => {
    fc.assert(
      fc.property(fc.array(tok, { maxLength: 25 }), fc.jsonValue(), (parts, input) => {
        const src = parts.join(' ');
        try {
          runJq(compileJq(src), input, { maxSteps: 20_000 });
        } catch (e) {
          assert.ok(e instanceof JqError, `non-JqError for ${JSON.stringify(src)}: ${String(e)}`);
          assert.ok(e.message.length > 0);
        }
      }),
      { numRuns: 3000 },
    );
  });
  it('arbitrary strings never crash the jq parser', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), (src) => {
        try {
          compileJq(src);
        } catch (e) {
          assert.ok(e instanceof JqError, String(e));
        }
      }),
      { numRuns: 2000 },
    );
  });
  it('random data through a Lua transform returns JSON or a TransformError', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (d) => {
        try {
          const out = applyTransform({ script: 'return event' }, d);
          assert.equal(typeof out, 'object');
        } catch (e) {
          assert.ok(e instanceof TransformError, String(e));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('evaluation that cannot take the process down (issue 17)', () => {
  it('Lua: a backtracking string.find stops at the deadline instead of blocking for 48 s', () => {
    const t = performance.now();
    assert.throws(
      () => runLua('return {string.find(("a"):rep(800), ".-.-.-b")}', {}, { deadlineMs: 500 }),
      (e: unknown) => e instanceof LuaError && /exceeded its deadline of 500 ms/.test(e.message),
    );
    assert.ok(performance.now() - t < 5000, 'returned promptly');
    // the replaced worker still evaluates
    assert.deepEqual(runLua('return {a = event.x + 1}', { x: 1 }), { a: 2 });
  });

  it('Lua: the same through a transform names the limit', () => {
    assert.throws(
      () =>
        applyTransform(
          { script: 'local s = string.rep("a", 800) return {string.match(s, ".-.-.-b")}' },
          {},
          {
            luaLimits: { deadlineMs: 300 },
          },
        ),
      /script transform failed: script exceeded its deadline of 300 ms/,
    );
  });

  it('Lua: memory growth is bounded', () => {
    assert.throws(
      () => runLua('local s = "x" for i = 1, 40 do s = s .. s end return {s}', {}),
      (e: unknown) => e instanceof LuaError && /limit/.test(e.message),
    );
  });

  it('Lua: a library function building a large string fails on the memory limit', () => {
    assert.throws(
      () =>
        runLua(
          'local s = string.rep("a", 1024 * 1024) local t = {} for i = 1, 100 do t[i] = s end return {table.concat(t)}',
          {},
        ),
      (e: unknown) =>
        e instanceof LuaError && /exceeded the memory limit of 67108864 bytes/.test(e.message),
    );
  });

  it('jq: [., .] doubling fails on the value size limit instead of exhausting the heap', () => {
    const t = performance.now();
    assert.throws(
      () => applyTransform({ jq: 'reduce range(26) as $i (.; [., .]) | tojson' }, { a: 1 }),
      /jq transform failed: jq program exceeded the value size limit of 16777216 bytes/,
    );
    assert.ok(performance.now() - t < 2000, 'failed fast');
  });

  it('jq: try and // cannot swallow a limit', () => {
    for (const src of [
      'try (reduce range(26) as $i (.; [., .])) catch "caught"',
      '(reduce range(26) as $i (.; [., .])) // "alt"',
    ])
      assert.throws(() => runJq(compileJq(src), 1), /value size limit/);
  });

  it('jq: the value size limit and the deadline are options', () => {
    assert.throws(
      () => runJq(compileJq('[range(1000)] | tojson'), null, { maxValueBytes: 1000 }),
      /value size limit of 1000 bytes/,
    );
    assert.throws(
      () => runJq(compileJq('"ab" * 1000'), null, { maxValueBytes: 100 }),
      /value size limit of 100 bytes/,
    );
    assert.throws(
      () =>
        runJq(compileJq('[range(100000000)] | length'), null, {
          maxSteps: 1e12,
          deadlineMs: 50,
        }),
      /exceeded its deadline of 50 ms/,
    );
    assert.deepEqual(runJq(compileJq('[., .]'), [1, 2]), [
      [
        [1, 2],
        [1, 2],
      ],
    ]);
  });
});
