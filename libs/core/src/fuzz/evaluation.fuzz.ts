import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  parseCron,
  parseManifests,
  parseTimezone,
  validateResource,
  type Sensor,
} from '@ganglion/api';
import { nextFire } from '../conditions/cron.schedule.js';
import { compileCondition, evaluateCondition } from '../conditions/condition.evaluator.js';
import { createJoin, initialJoinState, step } from '../conditions/join.reducer.js';
import { compileExpr } from '../expr/expr.evaluator.js';
import { evaluateFilterExpression } from '../expr/event-filter.js';
import { evaluateExprFilters } from '../govaluate/expr-filter.js';
import { applyParameters } from '../parameters.js';
import { compileSensor, routeEvent } from '../sensor-match.js';
import { renderTemplate } from '../template/index.js';
import { compileJq } from '../transform/jq/jq.parser.js';
import { runJq } from '../transform/jq/jq.evaluator.js';
import { runLua } from '../transform/lua.sandbox.js';
import type { SensorEvent } from '../event.js';
import { fuzzSeed, Prng } from '@ganglion/testing';

/** Inputs per language (`GANGLION_FUZZ_INPUTS`, default 10 000). */
const PER_LANGUAGE = Number(process.env['GANGLION_FUZZ_INPUTS'] ?? 10_000);
/** Deadline of one evaluation in the fuzz run (the engines' default is 2 s). */
const DEADLINE_MS = 250;
/** Longest one input may take through lint and runtime before it counts as a hang. */
const HANG_MS = 5_000;

/** JavaScript's own errors: one of them escaping an engine is an internal failure, not a clear error. */
const INTERNAL = new Set([
  'TypeError',
  'RangeError',
  'ReferenceError',
  'SyntaxError',
  'EvalError',
  'URIError',
  'AggregateError',
  'InternalError',
]);

interface Tally {
  inputs: number;
  ok: number;
  /** Failures with a clear error, by error class. */
  errors: Map<string, number>;
  /** Failures that are not clear: a JavaScript error escaping, an empty message, a non-Error. */
  unclear: string[];
  lintIssues: number;
  hangs: string[];
  maxMs: number;
}

const newTally = (): Tally => ({
  inputs: 0,
  ok: 0,
  errors: new Map(),
  unclear: [],
  lintIssues: 0,
  hangs: [],
  maxMs: 0,
});

function classify(t: Tally, input: string, err: unknown): void {
  if (!(err instanceof Error)) {
    t.unclear.push(`${JSON.stringify(input).slice(0, 120)} → non-Error ${String(err)}`);
    return;
  }
  const name = err.constructor.name;
  if (INTERNAL.has(name) || !err.message.trim() || err.message.length > 2_000)
    t.unclear.push(
      `${JSON.stringify(input).slice(0, 160)} → ${name}: ${err.message.slice(0, 200)}`,
    );
  else t.errors.set(name, (t.errors.get(name) ?? 0) + 1);
}

/** Runs `body` for one input: counts success, clear and unclear errors, and time. */
function attempt(t: Tally, input: string, body: () => void): void {
  t.inputs++;
  const t0 = performance.now();
  try {
    body();
    t.ok++;
  } catch (err) {
    classify(t, input, err);
  }
  const ms = performance.now() - t0;
  t.maxMs = Math.max(t.maxMs, ms);
  if (ms > HANG_MS)
    t.hangs.push(`${JSON.stringify(input).slice(0, 120)} took ${Math.round(ms)} ms`);
}

/** Half the inputs mutate a known-good one (1–3 edits), half are token soup. */
function generate(rng: Prng, corpus: readonly string[], tokens: readonly string[]): string {
  if (rng.chance(0.5)) {
    let s = rng.pick(corpus);
    for (let i = rng.int(4); i > 0; i--) s = rng.mutate(s);
    return s;
  }
  const parts: string[] = [];
  for (let i = 1 + rng.int(18); i > 0; i--)
    parts.push(rng.chance(0.1) ? rng.string(2) : rng.pick(tokens));
  return parts.join(rng.chance(0.7) ? ' ' : '');
}

/** A Sensor around one generated piece (where lint and the sensor's runtime read it). */
function sensorWith(part: {
  transform?: { jq?: string; script?: string };
  exprs?: { expr: string; fields: { name: string; path: string }[] }[];
  conditions?: string;
  reset?: { cron: string; timezone?: string };
  dataTemplate?: string;
}): Sensor {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Sensor',
    metadata: { name: 'fuzz', namespace: 'default' },
    spec: {
      dependencies: ['a', 'b', 'c'].map((name) => ({
        name,
        eventSourceName: 'hooks',
        eventName: name,
        ...(part.transform ? { transform: part.transform } : {}),
        ...(part.exprs ? { filters: { exprs: part.exprs } } : {}),
      })),
      triggers: [
        {
          template: {
            name: 't',
            ...(part.conditions !== undefined ? { conditions: part.conditions } : {}),
            ...(part.reset ? { conditionsReset: [{ byTime: part.reset }] } : {}),
            log: {},
          },
          ...(part.dataTemplate !== undefined
            ? {
                parameters: [
                  { src: { dependencyName: 'a', dataTemplate: part.dataTemplate }, dest: 'x' },
                ],
              }
            : {}),
        },
      ],
    },
  } as unknown as Sensor;
}

function eventFor(rng: Prng, dep: string): SensorEvent {
  return {
    context: {
      id: String(rng.int(1e9)),
      source: 'hooks',
      specversion: '1.0',
      type: 'webhook',
      subject: dep,
      time: new Date(1_700_000_000_000 + rng.int(1e9)).toISOString(),
    },
    data: { a: rng.json(), b: rng.json(), body: rng.json(), n: rng.int(100) },
  } as unknown as SensorEvent;
}

/** Through the sensor's own path: lint (validateResource), then compile and route an event. */
function throughSensor(t: Tally, rng: Prng, sensor: Sensor): void {
  t.lintIssues += validateResource(sensor).filter((i) => i.severity === 'error').length;
  const compiled = compileSensor(sensor, 'default');
  for (const dep of ['a', 'b']) {
    const r = routeEvent(compiled, eventFor(rng, dep), Date.now(), {
      jqLimits: { deadlineMs: DEADLINE_MS },
      luaLimits: { deadlineMs: DEADLINE_MS },
    });
    for (const d of r.decisions)
      if (d.result === 'error' && !d.reason?.trim())
        throw new TypeError('an error decision without a reason');
  }
}

const JQ_CORPUS = [
  '.',
  '.body.a',
  '{a: .a, n: (.n + 1)}',
  '[.[] | select(. != null)]',
  'map(tostring) | join(",")',
  'reduce range(5) as $i (0; . + $i)',
  'if .n > 10 then "big" else "small" end',
  '.a // "none"',
  'to_entries | map(.key) | sort',
  '[paths] | length',
  'tojson | fromjson',
  '.body | .. | numbers',
  '"x\\(.n)y"',
  'try error("x") catch .',
  '[limit(3; repeat(1))]',
  'with_entries(.value |= tostring)',
];
const JQ_TOKENS = [
  '.',
  '.a',
  '.b',
  '.body',
  '.[]',
  '.[0]',
  '.[-1:]',
  '|',
  ',',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  ':',
  '"a"',
  '1',
  '0',
  '-1',
  '1e308',
  '+',
  '-',
  '*',
  '/',
  '%',
  '==',
  '!=',
  '<',
  '>=',
  'and',
  'or',
  'not',
  'length',
  'keys',
  'tostring',
  'tonumber',
  'if',
  'then',
  'elif',
  'else',
  'end',
  'reduce',
  'foreach',
  'range(',
  'as',
  '$x',
  '..',
  'recurse',
  'tojson',
  'fromjson',
  'split(',
  'join(',
  'test(',
  'ascii_downcase',
  'add',
  'empty',
  'error',
  '?',
  '//',
  'limit(',
  ';',
  'first',
  'last',
  'sort',
  'group_by(',
  'unique',
  'to_entries',
  'from_entries',
  'paths',
  'getpath(',
  'setpath(',
  'floor',
  'sqrt',
  'pow(',
  '@base64',
  '@base64d',
  '@json',
  '@csv',
  'tostream',
  'env',
  'input',
  'splits(',
  'sub(',
  'gsub(',
  'implode',
  'explode',
  'ltrimstr(',
  'indices(',
  'inside(',
  'repeat(',
  'while(',
  'until(',
  'def',
  'label',
  '$__loc__',
  'try',
  'catch',
  '|=',
  '+=',
  'walk(',
  'min_by(',
];

const LUA_CORPUS = [
  'return event',
  'event.n = (event.n or 0) + 1 return event',
  'local t = {} for k, v in pairs(event) do t[#t + 1] = k end table.sort(t) return {keys = t}',
  'return {s = string.upper(tostring(event.a))}',
  'local s = "" for i = 1, 10 do s = s .. i end return {s = s}',
  'if event.n > 50 then return nil end return event',
  'return {r = string.rep("ab", 5), f = string.format("%d-%s", 3, "x")}',
  'local ok, err = pcall(function() error("boom") end) return {ok = ok}',
  'return {m = math.floor(3.7), g = string.gsub("hello", "l", "L")}',
  'return setmetatable({}, {__index = function() return 1 end})',
];
const LUA_TOKENS = [
  'local',
  'x',
  'y',
  '=',
  '1',
  '0',
  '-1',
  'return',
  'event',
  'event.a',
  'event.body',
  'if',
  'then',
  'elseif',
  'else',
  'end',
  'for',
  'i',
  'in',
  'pairs(event)',
  ',',
  '10',
  'do',
  'while',
  'repeat',
  'until',
  'false',
  'true',
  'nil',
  'string.rep("a", 3)',
  'string.find(',
  'string.gsub(',
  'string.format(',
  '(',
  ')',
  '..',
  '+',
  '-',
  '*',
  '/',
  '//',
  '%',
  '^',
  '#',
  '==',
  '~=',
  '<',
  '{',
  '}',
  '[',
  ']',
  'function',
  'pcall(',
  'error(',
  'tostring(',
  'tonumber(',
  '"s"',
  "'q'",
  'and',
  'or',
  'not',
  'setmetatable(',
  'getmetatable(',
  'load(',
  'os.exit()',
  'io.open(',
  'require(',
  'coroutine.wrap(',
  'table.concat(',
  'select("#",',
  'math.huge',
  'goto',
  '::l::',
  ';',
  '...',
];

const TEMPLATE_CORPUS = [
  '{{ .Input.body.a }}',
  '{{ printf "%v-%d" .Input.a .Input.n }}',
  '{{ range $i, $v := .Input.body }}{{ $i }}={{ $v }};{{ end }}',
  '{{ if gt (len .Input) 2 }}many{{ else }}few{{ end }}',
  '{{ .Input | toJson | b64enc }}',
  '{{ upper (default "x" .Input.missing) }}',
  '{{ with .Input.a }}{{ . }}{{ end }}',
  '{{ $x := dict "k" 1 }}{{ get $x "k" }}',
  '{{ regexReplaceAll "a+" (toString .Input.a) "b" }}',
  '{{ cat "a" "b" | repeat 3 }}',
  '{{- /* c */ -}} {{ index .Input "n" }}',
  '{{ split "," "a,b" | join "|" }}',
];
const TEMPLATE_TOKENS = [
  '{{',
  '}}',
  '{{-',
  '-}}',
  '.',
  '.Input',
  '.Input.a',
  '.Input.body',
  '$',
  '$x',
  ':=',
  '=',
  '|',
  'printf',
  '"%v"',
  '"%s"',
  '"%d"',
  '"%*d"',
  'range',
  'if',
  'else',
  'end',
  'with',
  'define',
  'template',
  'block',
  'break',
  'continue',
  'upper',
  'cat',
  'repeat',
  '1000',
  'toJson',
  'fromJson',
  'index',
  '"s"',
  '1',
  '-1',
  'default',
  'regexReplaceAll',
  '(',
  ')',
  'len',
  'dict',
  'list',
  'b64enc',
  'b64dec',
  'sha256sum',
  'now',
  'date',
  'uuidv4',
  'text',
  '/*',
  '*/',
  'and',
  'or',
  'not',
  'eq',
  'lt',
  'atoi',
  'div',
  'mod',
  '0',
  'trunc',
  'substr',
  'indent',
  'nil',
];

const EXPR_CORPUS = [
  'body.a == "x"',
  'body.n > 5 && body.b != nil',
  'len(body.list) in [1, 2, 3]',
  'asInt(body.n) % 2 == 0',
  'body.s matches "^a.*"',
  'toJson(body) contains "a"',
  'sprig.upper(body.s) startsWith "A"',
  'all(body.list, {# > 0})',
  'body.a ?? "none"',
  'jsonpath(body, "$.a") == 1',
  'header["X-A"][0] == "1"',
  '(body.n ?? 0) * 2 <= 10 || !(body.b)',
];
const EXPR_TOKENS = [
  'body',
  '.',
  'a',
  'b',
  'n',
  'list',
  '==',
  '!=',
  '&&',
  '||',
  '!',
  '"x"',
  '1',
  '2.5',
  '1e999',
  '+',
  '-',
  '*',
  '/',
  '%',
  '**',
  '^',
  '(',
  ')',
  '[',
  ']',
  'in',
  'not',
  'matches',
  'contains',
  'startsWith',
  'endsWith',
  'len(',
  'asInt(',
  'asFloat(',
  'toJson(',
  'jsonpath(',
  'sprig.upper(',
  ',',
  'true',
  'false',
  'nil',
  '?',
  ':',
  '??',
  '..',
  'map(',
  'filter(',
  '#',
  'all(',
  'any(',
  'none(',
  'one(',
  'count(',
  '{',
  '}',
  'header',
  '["X"]',
  'let',
  ';',
  '|',
  '$env',
  '0..1000000',
];

const GOVALUATE_CORPUS = [
  'a == "x"',
  'n > 5 && n < 50',
  'a =~ "^[a-z]+$"',
  '(n + 1) * 2 >= 10 || b != "y"',
  'n in (1, 2, 3)',
  'a ?? "z"',
  'n > 10 ? "big" : "small"',
  '!(a == b)',
];
const GOVALUATE_TOKENS = [
  'a',
  'b',
  'n',
  '==',
  '!=',
  '>',
  '<',
  '>=',
  '&&',
  '||',
  '!',
  '(',
  ')',
  '"x"',
  "'y'",
  '1',
  '2.5',
  '+',
  '-',
  '*',
  '/',
  '%',
  '**',
  '=~',
  '!~',
  '?',
  ':',
  '??',
  'in',
  ',',
  'true',
  'false',
  '[',
  ']',
  '>>',
  '<<',
  '&',
  '|',
  '^',
  '~',
  '[a]',
  '"2014-01-02"',
];

const CRON_CORPUS = [
  '*/5 * * * *',
  '0 0 * * MON-FRI',
  '@every 1h30m',
  '@daily',
  'CRON_TZ=Europe/Paris 30 9 1,15 * *',
  '0 */2 1-7 JAN,JUL SUN',
  '@hourly',
  '59 23 31 12 *',
];
const CRON_TOKENS = [
  '*',
  '*/5',
  '1-5',
  '0',
  '59',
  '60',
  '-1',
  '31',
  '32',
  'MON',
  'SUN-SAT',
  'JAN',
  'DEC-JAN',
  '@every',
  '1h',
  '0s',
  '-1s',
  '999999h',
  '@daily',
  '@yearly',
  '@reboot',
  'CRON_TZ=UTC',
  'CRON_TZ=Nowhere/City',
  'TZ=Asia/Tokyo',
  '?',
  'L',
  'W',
  '#2',
  ',',
  '/',
  '5/0',
  '*/0',
  '1-0',
];
const TIMEZONES = [
  '',
  'UTC',
  'Europe/Paris',
  'America/St_Johns',
  'Asia/Kathmandu',
  'Local',
  'Mars/Base',
  '+05:30',
];

const CONDITION_CORPUS = ['a && b', 'a || b', '(a || b) && c', 'a', 'c && (b || a)', '((a))'];
const CONDITION_TOKENS = [
  'a',
  'b',
  'c',
  'd',
  'a-b',
  'x.y',
  '&&',
  '||',
  '(',
  ')',
  '!',
  ' ',
  '&',
  '|',
  'and',
  'or',
];

/**
 * Evaluation fuzzing (issue 17, part 4): for each language inside manifests (jq, Lua, templates,
 * expr `filter.expression`, govaluate `exprs`, cron `conditionsReset`, trigger `conditions`) and
 * for whole manifests, a seeded generator makes inputs (mutations of valid ones and token
 * soup) and runs each through lint (validateResource) and the runtime (the engine directly and
 * the sensor's compile + route path). Every input must end in a result or a clear error (an
 * error of the engine's own class with a message, never a JavaScript TypeError/RangeError
 * escaping), none may hang or crash the process. Prints a block of counts.
 */
describe('fuzz: evaluation languages and manifests', { timeout: 900_000 }, () => {
  const seed = fuzzSeed();
  const tallies = new Map<string, Tally>();
  const report = (name: string, t: Tally, ms: number): void => {
    tallies.set(name, t);
    console.log(
      `# ${name.padEnd(10)} inputs ${t.inputs}, ok ${t.ok}, clear errors ${[...t.errors.values()].reduce((a, b) => a + b, 0)} ` +
        `(${[...t.errors].map(([k, n]) => `${k}=${n}`).join(' ')}), unclear ${t.unclear.length}, ` +
        `hangs ${t.hangs.length}, lint errors ${t.lintIssues}, slowest ${t.maxMs.toFixed(0)} ms, ` +
        `total ${(ms / 1000).toFixed(1)} s`,
    );
  };
  const check = (t: Tally): void => {
    assert.ok(t.inputs >= PER_LANGUAGE, `${t.inputs} inputs`);
    assert.deepEqual(t.unclear.slice(0, 10), [], 'every failure is a clear error');
    assert.deepEqual(t.hangs.slice(0, 10), [], 'no input hangs');
  };
  const run = (name: string, each: (t: Tally, rng: Prng, i: number) => void): void => {
    it(
      `${name}: ${PER_LANGUAGE} generated inputs through lint and the runtime`,
      { timeout: 600_000 },
      () => {
        const rng = new Prng(seed ^ (name.length * 2654435761));
        const t = newTally();
        const t0 = performance.now();
        for (let i = 0; i < PER_LANGUAGE; i++) each(t, rng, i);
        report(name, t, performance.now() - t0);
        check(t);
      },
    );
  };

  it('prints the seed', () => console.log(`# ---- fuzz: evaluation (seed ${seed}) ----`));

  run('jq', (t, rng) => {
    const src = generate(rng, JQ_CORPUS, JQ_TOKENS);
    attempt(t, src, () => {
      runJq(compileJq(src), eventFor(rng, 'a').data, { deadlineMs: DEADLINE_MS });
    });
    if (rng.chance(0.1)) throughSensor(t, rng, sensorWith({ transform: { jq: src } }));
  });

  run('lua', (t, rng) => {
    const src = generate(rng, LUA_CORPUS, LUA_TOKENS);
    attempt(t, src, () => {
      runLua(src, eventFor(rng, 'a').data, { deadlineMs: DEADLINE_MS });
    });
    if (rng.chance(0.05)) throughSensor(t, rng, sensorWith({ transform: { script: src } }));
  });

  run('templates', (t, rng) => {
    const src = generate(rng, TEMPLATE_CORPUS, TEMPLATE_TOKENS);
    attempt(t, src, () => {
      renderTemplate(src, { Input: eventFor(rng, 'a').data }, { deadlineMs: DEADLINE_MS });
    });
    if (rng.chance(0.1)) {
      const sensor = sensorWith({ dataTemplate: src });
      t.lintIssues += validateResource(sensor).filter((i) => i.severity === 'error').length;
      const trigger = sensor.spec.triggers[0]!;
      attempt(t, src, () => {
        applyParameters(trigger.template, trigger.parameters, { a: eventFor(rng, 'a') } as never);
      });
    }
  });

  run('expr', (t, rng) => {
    const src = generate(rng, EXPR_CORPUS, EXPR_TOKENS);
    attempt(t, src, () => {
      evaluateFilterExpression(
        compileExpr(src),
        { body: eventFor(rng, 'a').data, header: { 'X-A': ['1'] } },
        { deadlineMs: DEADLINE_MS },
      );
    });
    if (rng.chance(0.1))
      t.lintIssues += validateResource({
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'EventSource',
        metadata: { name: 'fuzz', namespace: 'default' },
        spec: {
          webhook: {
            e: { port: '12000', endpoint: '/e', method: 'POST', filter: { expression: src } },
          },
        },
      }).filter((i) => i.severity === 'error').length;
  });

  run('govaluate', (t, rng) => {
    const src = generate(rng, GOVALUATE_CORPUS, GOVALUATE_TOKENS);
    const fields = [
      { name: 'a', path: 'a' },
      { name: 'b', path: 'b' },
      { name: 'n', path: 'n' },
    ];
    attempt(t, src, () => {
      evaluateExprFilters([{ expr: src, fields }], eventFor(rng, 'a').data, 'and');
    });
    if (rng.chance(0.1)) throughSensor(t, rng, sensorWith({ exprs: [{ expr: src, fields }] }));
  });

  run('cron', (t, rng) => {
    const src = rng.chance(0.5)
      ? generate(rng, CRON_CORPUS, CRON_TOKENS)
      : Array.from({ length: 4 + rng.int(3) }, () => rng.pick(CRON_TOKENS)).join(' ');
    const tz = rng.pick(TIMEZONES);
    attempt(t, `${src} @ ${tz}`, () => {
      const schedule = parseCron(src);
      if (tz) parseTimezone(tz);
      let at = 1_700_000_000_000 + rng.int(1e10);
      for (let k = 0; k < 3; k++) {
        const next = nextFire(schedule, tz || 'UTC', at);
        if (next === undefined) break;
        if (!(next > at)) throw new TypeError(`nextFire went back: ${next} after ${at}`);
        at = next;
      }
    });
    if (rng.chance(0.1))
      throughSensor(
        t,
        rng,
        sensorWith({ conditions: 'a && b', reset: { cron: src, ...(tz ? { timezone: tz } : {}) } }),
      );
  });

  run('conditions', (t, rng) => {
    const src = generate(rng, CONDITION_CORPUS, CONDITION_TOKENS);
    attempt(t, src, () => {
      const ast = compileCondition(src, ['a', 'b', 'c']);
      evaluateCondition(
        ast,
        ['a', 'c'].filter(() => rng.chance(0.5)),
      );
      const join = createJoin(['a', 'b', 'c'], src);
      step(join, initialJoinState(join, 0), { dependency: 'a', event: eventFor(rng, 'a') }, 1);
    });
    if (rng.chance(0.2)) throughSensor(t, rng, sensorWith({ conditions: src }));
  });

  run('manifests', (t, rng, i) => {
    if (i % 4 === 0) {
      // The YAML text itself, mutated, through the lint's parser.
      let text = rng.pick(manifestTexts());
      for (let k = 1 + rng.int(4); k > 0; k--) text = rng.mutate(text);
      if (rng.chance(0.1)) text = `${text}\n---\n${rng.pick(manifestTexts())}`;
      attempt(t, text.slice(0, 200), () => {
        for (const d of parseManifests(text))
          for (const issue of d.issues)
            if (!issue.message?.trim()) throw new TypeError('an issue without a message');
      });
      return;
    }
    const doc = mutateDoc(rng, structuredClone(rng.pick(manifests())));
    const input = JSON.stringify(doc);
    attempt(t, input, () => {
      const issues = validateResource(doc);
      if (!Array.isArray(issues)) throw new TypeError('validateResource returned no list');
      for (const i of issues)
        if (!i.message?.trim()) throw new TypeError(`an issue without a message at ${i.path}`);
      const errors = issues.filter((i) => i.severity === 'error');
      t.lintIssues += errors.length;
      // A Sensor lint accepts must run: compile and route an event through it.
      if (errors.length === 0 && (doc as { kind?: string }).kind === 'Sensor') {
        const compiled = compileSensor(doc as Sensor, 'default');
        for (const d of (doc as Sensor).spec.dependencies.slice(0, 3))
          routeEvent(
            compiled,
            {
              ...eventFor(rng, d.eventName),
              context: { ...eventFor(rng, d.eventName).context, source: d.eventSourceName },
            } as SensorEvent,
            Date.now(),
            { jqLimits: { deadlineMs: DEADLINE_MS }, luaLimits: { deadlineMs: DEADLINE_MS } },
          );
      }
    });
  });

  it('prints the totals', () => {
    const all = [...tallies.values()];
    console.log(
      `# evaluation fuzz: ${all.reduce((a, t) => a + t.inputs, 0)} inputs over ${all.length} languages; ` +
        `unclear errors ${all.reduce((a, t) => a + t.unclear.length, 0)}, hangs ${all.reduce((a, t) => a + t.hangs.length, 0)}, crashes 0\n# ----`,
    );
  });
});

const FIXTURES = ['sensors.valid.yaml', 'event-sources.valid.yaml', 'event-bus.valid.yaml'];
let texts: string[] | undefined;
/** The YAML documents of libs/api's valid fixtures (every kind). */
function manifestTexts(): string[] {
  const dir = new URL('../../../api/src/fixtures/', import.meta.url);
  // One document per text: the mutations stay local and the parse cheap.
  return (texts ??= FIXTURES.flatMap((f) =>
    readFileSync(new URL(f, dir), 'utf8')
      .split(/^---$/m)
      .filter((d) => d.trim()),
  ));
}
let manifestCache: unknown[] | undefined;
/** The valid manifests of the fixtures, the seeds of manifest mutations. */
function manifests(): unknown[] {
  return (manifestCache ??= manifestTexts().flatMap((t) =>
    parseManifests(t).flatMap((d) => (d.resource ? [d.resource] : [])),
  ));
}

/** 1–4 edits at random places of a document: a value replaced, a key dropped, a type changed. */
function mutateDoc(rng: Prng, doc: unknown): unknown {
  for (let n = 1 + rng.int(4); n > 0; n--) {
    // Walk down a random path.
    let parent: Record<string, unknown> | unknown[] | undefined;
    let key: string | number | undefined;
    let node: unknown = doc;
    for (let depth = 0; depth < 8 && node && typeof node === 'object'; depth++) {
      const keys = Object.keys(node);
      if (keys.length === 0 || (depth > 0 && rng.chance(0.25))) break;
      const k = rng.pick(keys);
      parent = node as Record<string, unknown>;
      key = Array.isArray(node) ? Number(k) : k;
      node = (node as Record<string, unknown>)[k];
    }
    if (parent === undefined || key === undefined) return rng.json(3);
    const p = parent as Record<string | number, unknown>;
    switch (rng.int(5)) {
      case 0:
        delete p[key];
        break;
      case 1:
        p[key] = rng.json(2);
        break;
      case 2:
        p[key] = typeof node === 'string' ? rng.mutate(node) : rng.string(rng.int(10));
        break;
      case 3:
        p[key] = Array.isArray(node) ? {} : [node];
        break;
      default:
        p[rng.string(4)] = rng.json(2);
    }
  }
  return doc;
}
