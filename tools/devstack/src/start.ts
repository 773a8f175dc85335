import { createServer } from 'node:http';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KafkaBroker, MissingPrerequisiteError, REPO_ROOT, SERVICES, ServiceProcess } from '@ganglion/testing';

/**
 * `npm start`: a Kafka broker (or `KAFKA_BROKERS`), the four services as separate processes
 * over examples/local/, and the example HTTP trigger target on port 12001. Ctrl-C (or
 * `npm stop`) stops everything.
 */
const STATE_DIR = join(REPO_ROOT, '.ganglion');
const PID_FILE = join(STATE_DIR, 'stack.pid');
const TARGET_PORT = Number(process.env['GANGLION_EXAMPLE_TARGET_PORT'] ?? 12001);
const COLORS = ['\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[32m', '\x1b[34m'];
const RESET = '\x1b[0m';

function print(prefix: string, color: string, line: string): void {
  let text = line;
  if (line.startsWith('{')) {
    try {
      const r = JSON.parse(line) as Record<string, unknown>;
      const { time: _t, level, service: _s, instance: _i, msg, ...rest } = r;
      const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
      text = `${String(level).padEnd(5)} ${String(msg)}${extra}`;
    } catch {
      // print as is
    }
  }
  const tty = process.stdout.isTTY;
  process.stdout.write(`${tty ? color : ''}${prefix.padEnd(16)}|${tty ? RESET : ''} ${text}\n`);
}

async function main(): Promise<void> {
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(PID_FILE, String(process.pid));
  let broker: KafkaBroker | undefined;
  let brokers = process.env['KAFKA_BROKERS'];
  if (!brokers) {
    print('kafka', COLORS[4]!, 'starting a local Apache Kafka broker (KRaft, single node)...');
    const dataDir = join(STATE_DIR, 'kafka');
    rmSync(dataDir, { recursive: true, force: true });
    broker = await KafkaBroker.start({ dataDir });
    brokers = broker.brokers;
    print('kafka', COLORS[4]!, `broker listening on ${brokers} (log: ${join(dataDir, 'server.log')})`);
  } else print('kafka', COLORS[4]!, `using the Kafka cluster at ${brokers}`);

  const target = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      print('example-target', COLORS[3]!, `${req.method} ${req.url} ${Buffer.concat(chunks).toString('utf8')}`);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => target.listen(TARGET_PORT, '127.0.0.1', resolve));

  const services = SERVICES.map(
    (name, i) =>
      new ServiceProcess(name, {
        healthPort: 18081 + i,
        // Prometheus /metrics: reconciler 7777, ingress-webhook 7778, sensor 7779, trigger 7780.
        metricsPort: 7777 + i,
        env: {
          KAFKA_BROKERS: brokers!,
          GANGLION_HOST: '127.0.0.1',
          GANGLION_INSTANCE_ID: 'local',
          GANGLION_RESOURCES_DIR: process.env['GANGLION_RESOURCES_DIR'] ?? join(REPO_ROOT, 'examples', 'local'),
        },
        onLine: (line) => print(name, COLORS[i % COLORS.length]!, line),
      }),
  );
  let stopping = false;
  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    print('ganglion', COLORS[4]!, 'stopping...');
    await Promise.all(services.map((s) => s.stop()));
    target.close();
    await broker?.destroy();
    rmSync(PID_FILE, { force: true });
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  for (const s of services) s.start();
  try {
    await Promise.all(services.map((s) => s.ready(120_000)));
  } catch (err) {
    print('ganglion', COLORS[4]!, `start-up failed: ${(err as Error).message}`);
    await stop(1);
    return;
  }
  print(
    'ganglion',
    COLORS[4]!,
    [
      'up. Send an event:',
      `  curl -X POST -H 'Content-Type: application/json' -d '{"message":"hello"}' http://localhost:12000/example`,
      'The log trigger prints it here; the http trigger posts it to the example target on port 12001.',
      'Stop with Ctrl-C (or `npm stop` from another terminal).',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  if (err instanceof MissingPrerequisiteError) console.error(`ganglion: ${err.message}`);
  else console.error('ganglion: start failed:', err);
  process.exit(1);
});
