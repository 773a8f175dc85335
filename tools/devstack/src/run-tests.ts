import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  clusterLeftovers,
  ensureJaegerBinary,
  KafkaBroker,
  KubeApiServer,
  KubeCluster,
  MissingPrerequisiteError,
  REPO_ROOT,
} from '@ganglion/testing';

/**
 * `npm test`: static checks (eslint, prettier, knip), then every test suite with Node's test runner, on one real Kafka
 * broker and one real Kubernetes API server (etcd + kube-apiserver, `GANGLION_TEST_KUBE`) for the
 * run (or `KAFKA_BROKERS`). Ends with one line `N passed, N failed` totalled
 * over everything it ran, also written to .ci/out/summary.txt.
 */
interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}

const OUT = join(REPO_ROOT, '.ci', 'out');

/**
 * Longest a suite may run (ms, `GANGLION_SUITE_TIMEOUT_MS`, default 40 min) before its process
 * group is killed and the suite counted failed: a hung suite then ends the run with a summary
 * instead of running into CI's own time limit with nothing printed.
 */
const SUITE_TIMEOUT_MS = Number(process.env['GANGLION_SUITE_TIMEOUT_MS'] ?? 40 * 60_000);

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = SUITE_TIMEOUT_MS,
): Promise<number> {
  return new Promise((resolve) => {
    // Its own process group, so that the watchdog also kills what the suite started.
    const child = spawn(cmd, args, {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
      detached: true,
    });
    const kill = (): void => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const watchdog = setTimeout(() => {
      console.error(
        `\nganglion: ${cmd} ${args.slice(-1).join(' ')} still running after ${Math.round(timeoutMs / 1000)} s: killed (GANGLION_SUITE_TIMEOUT_MS)`,
      );
      kill();
    }, timeoutMs);
    process.once('exit', kill);
    child.on('exit', (code) => {
      clearTimeout(watchdog);
      process.removeListener('exit', kill);
      resolve(code ?? 1);
    });
  });
}

function tapTally(file: string): Tally {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const num = (name: string): number =>
    Number(
      /^# (\w+) (\d+)$/m.exec(
        text
          .split('\n')
          .filter((l) => l.startsWith(`# ${name} `))
          .pop() ?? '',
      )?.[2] ?? 0,
    );
  return {
    passed: num('pass'),
    failed: num('fail') + num('cancelled'),
    skipped: num('skipped') + num('todo'),
  };
}

/** Default limit of one test or hook that sets none (ms): 5 min. */
const TEST_TIMEOUT_MS = 5 * 60_000;

async function suite(
  name: string,
  patterns: string[],
  env: NodeJS.ProcessEnv,
  extra: string[] = [],
): Promise<Tally> {
  const tap = join(OUT, `${name}.tap`);
  console.log(`\n=== ${name} ===`);
  const code = await run(
    process.execPath,
    // Not --test-force-exit: on Node 24.9 it drops the results of tests still buffered in a
    // file's output pipe (a run of libs/api + libs/core reported 410–444 of 630 tests). A file
    // left hanging by its handles is ended by the suite watchdog instead.
    [
      '--enable-source-maps',
      '--disable-warning=TimeoutNegativeWarning',
      '--test',
      `--test-timeout=${TEST_TIMEOUT_MS}`,
      ...extra,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tap}`,
      ...patterns,
    ],
    env,
  );
  const t = tapTally(tap);
  if (code !== 0 && t.failed === 0) t.failed = 1; // the runner itself failed (e.g. a file crashed)
  console.log(
    `--- ${name}: ${t.passed} passed, ${t.failed} failed${t.skipped ? `, ${t.skipped} skipped` : ''}`,
  );
  return t;
}

async function check(
  name: string,
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<Tally> {
  console.log(`\n=== ${name} ===`);
  const code = await run(cmd, args, env);
  console.log(`--- ${name}: ${code === 0 ? 'ok' : 'FAILED'}`);
  return { passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, skipped: 0 };
}

/**
 * The platform suite (e2e/src/platform/): one real single-node cluster for the run
 * (libs/testing kube-cluster.ts, `GANGLION_TEST_CLUSTER`), torn down afterwards and checked to
 * have left nothing on the host. A machine that cannot run a cluster (no root, no Go for the first
 * build, no apt-get) skips the suite with one message, counted as skipped.
 */
async function platform(env: NodeJS.ProcessEnv): Promise<Tally[]> {
  console.log("\nstarting the run's Kubernetes cluster (single node)...");
  const started = Date.now();
  let cluster: KubeCluster;
  try {
    cluster = await KubeCluster.start();
  } catch (err) {
    if (!(err instanceof MissingPrerequisiteError)) throw err;
    console.log(`\n=== platform ===\n--- platform: SKIPPED: ${err.message}`);
    return [{ passed: 0, failed: 0, skipped: 1 }];
  }
  console.log(`cluster up in ${Date.now() - started} ms (state in ${cluster.dir})`);
  const dir = cluster.dir;
  const tallies: Tally[] = [];
  try {
    const files = env['GANGLION_TEST_FILES']?.split(/\s+/).filter(Boolean) ?? [
      'e2e/dist/platform/*.test.js',
    ];
    tallies.push(
      await suite('platform', files, { ...env, GANGLION_TEST_CLUSTER: dir }, [
        '--test-concurrency=1',
      ]),
    );
  } finally {
    const t = Date.now();
    await cluster.destroy();
    console.log(`cluster torn down in ${Date.now() - t} ms`);
  }
  const left = clusterLeftovers(dir);
  tallies.push(
    await check(
      'cluster cleanup (no bridge, KUBE-/GANGLION- chains, mounts or pod netns left)',
      process.execPath,
      [
        '-e',
        left.length ? `console.error(${JSON.stringify(left.join('\n'))}); process.exit(1)` : '',
      ],
      env,
    ),
  );
  return tallies;
}

async function main(): Promise<number> {
  // Suites run in their own process groups: Ctrl-C ends them through the 'exit' handlers.
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => process.exit(130));
  mkdirSync(OUT, { recursive: true });
  const only = process.argv.slice(2);
  const want = (s: string): boolean => only.length === 0 || only.includes(s);
  const tallies: Tally[] = [];
  const env = { ...process.env };

  if (want('lint')) {
    // The module-boundary rule reads Nx's project graph: compute it first (no daemon).
    env['NX_DAEMON'] = 'false';
    await run('nx', ['show', 'projects'], { ...env, NX_VERBOSE_LOGGING: 'false' });
    tallies.push(await check('lint (eslint + Nx module boundaries)', 'eslint', ['.'], env));
    // Formatting (.prettierrc.json; .prettierignore leaves out build output and generated files).
    tallies.push(
      await check(
        'format (prettier --check)',
        'prettier',
        ['--check', '--log-level=warn', '.'],
        env,
      ),
    );
    // Exports nothing imports (knip.json: a package's index.ts is its public API, its tests and
    // benches and the services' main.ts are entries; an export only a file's own tests use counts).
    tallies.push(await check('unused exports (knip)', 'knip', ['--no-progress'], env));
  }
  if (want('generated') && existsSync(join(REPO_ROOT, 'scripts', 'check-generated.sh')))
    tallies.push(
      await check(
        'generated files',
        'bash',
        [join(REPO_ROOT, 'scripts', 'check-generated.sh')],
        env,
      ),
    );

  let broker: KafkaBroker | undefined;
  let kube: KubeApiServer | undefined;
  if (want('unit') || want('e2e') || want('fuzz') || want('image')) {
    const started = Date.now();
    const [, b, k] = await Promise.all([
      // The e2e tests' Jaeger: built once (cached across runs), first so that it builds while the others start.
      want('e2e') ? ensureJaegerBinary() : undefined,
      env['KAFKA_BROKERS']
        ? undefined
        : (console.log("\nstarting the run's Kafka broker..."), KafkaBroker.start()),
      env['GANGLION_TEST_KUBE']
        ? undefined
        : (console.log("starting the run's Kubernetes API server (etcd + kube-apiserver)..."),
          KubeApiServer.start()),
    ]);
    broker = b;
    kube = k;
    if (broker) env['KAFKA_BROKERS'] = broker.brokers;
    if (kube) env['GANGLION_TEST_KUBE'] = kube.dir;
    console.log(
      `Kafka broker ${broker ? broker.version : '(KAFKA_BROKERS)'} on ${env['KAFKA_BROKERS']}, kube-apiserver state in ${env['GANGLION_TEST_KUBE']} (${Date.now() - started} ms)`,
    );
  }
  try {
    // GANGLION_TEST_FILES (space-separated globs) narrows a suite to some files, e.g.
    // `GANGLION_TEST_FILES='libs/api/dist-test/**/*.test.js' npm test -- unit`.
    const files = (def: string[]): string[] =>
      env['GANGLION_TEST_FILES']?.split(/\s+/).filter(Boolean) ?? def;
    // A package's tests are compiled to <pkg>/dist-test/ (tsconfig.test.json), its product code to
    // <pkg>/dist/; the hook resolves the tests' relative imports of product code to dist/.
    const hook = ['--import', join(REPO_ROOT, 'tools', 'devstack', 'dist', 'dist-test-hook.js')];
    if (want('unit'))
      tallies.push(
        await suite(
          'unit-and-integration',
          files([
            'libs/*/dist-test/**/*.test.js',
            'services/*/dist-test/**/*.test.js',
            'tools/*/dist-test/**/*.test.js',
          ]),
          env,
          hook,
        ),
      );
    // The fuzz and fault suite (docs/reliability.md): generated inputs through lint, the
    // evaluators and every push ingress, and faults under load with services as processes; each
    // file prints a block of counts.
    if (want('fuzz'))
      tallies.push(
        await suite(
          'fuzz',
          files(['libs/*/dist-test/fuzz/*.fuzz.js', 'e2e/dist/**/*.fuzz.js']),
          env,
          [...hook, '--test-concurrency=1'],
        ),
      );
    if (want('e2e'))
      tallies.push(
        await suite('e2e', files(['e2e/dist/*.test.js']), env, ['--test-concurrency=1']),
      );
    // The image (scripts/image.sh), the Dockerfile built with buildah, and the services as
    // containers through testcontainers on podman: minutes when cold, so a suite of its own.
    if (want('image'))
      tallies.push(
        await suite('image', files(['e2e/dist/image/*.test.js']), env, ['--test-concurrency=1']),
      );
  } finally {
    await Promise.all([broker?.destroy(), kube?.destroy()]);
  }
  if (want('platform')) tallies.push(...(await platform(env)));
  const total = tallies.reduce(
    (a, t) => ({
      passed: a.passed + t.passed,
      failed: a.failed + t.failed,
      skipped: a.skipped + t.skipped,
    }),
    { passed: 0, failed: 0, skipped: 0 },
  );
  const line = `${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}`;
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(OUT, 'summary.txt'), line + '\n');
  console.log(`\n${line}`);
  return total.failed === 0 && total.passed > 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof MissingPrerequisiteError ? `ganglion: ${err.message}` : err);
    process.exit(1);
  },
);
