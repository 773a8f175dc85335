import { createServer } from 'node:http';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseManifests, SOURCE_KINDS, type EventSource } from '@ganglion/api';
import {
  KafkaBroker,
  MissingPrerequisiteError,
  NatsServer,
  REPO_ROOT,
  SERVICES,
  ServiceProcess,
  type ServiceName,
} from '@ganglion/testing';
import { LocalJaeger } from './jaeger.js';

/** Ingress services the EventSources under `dir` need (`ingress-<type>`), besides ingress-webhook. */
function ingressServicesFor(dir: string): ServiceName[] {
  const types = new Set<string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(name))
        for (const doc of parseManifests(readFileSync(path, 'utf8'))) {
          if (doc.resource?.kind !== 'EventSource') continue;
          for (const [key, value] of Object.entries((doc.resource as EventSource).spec))
            if (value && typeof value === 'object' && !['template', 'service'].includes(key))
              types.add(`ingress-${key.toLowerCase()}`);
        }
    }
  };
  walk(dir);
  const ingress = Object.keys(SOURCE_KINDS).map((t): ServiceName => `ingress-${t.toLowerCase()}`);
  return ingress.filter((s) => types.has(s) && !(SERVICES as readonly string[]).includes(s));
}

/**
 * `npm start`: a Kafka broker (or `KAFKA_BROKERS`), the core services plus the ingress services
 * the examples use, as separate processes over examples/local/, the example HTTP trigger target on port 12001,
 * and Jaeger (UI and query API on 16686) receiving every service's spans (`--no-jaeger` skips it). Ctrl-C (or
 * `npm stop`) stops everything.
 */
const STATE_DIR = join(REPO_ROOT, '.ganglion');
const PID_FILE = join(STATE_DIR, 'stack.pid');
const TARGET_PORT = Number(process.env['GANGLION_EXAMPLE_TARGET_PORT'] ?? 12001);
/** Port of the example NATS server (examples/local/nats-eventsource.yaml names it). */
const NATS_PORT = Number(process.env['GANGLION_EXAMPLE_NATS_PORT'] ?? 4222);
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
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== '--no-jaeger');
  if (unknown.length)
    throw new MissingPrerequisiteError(
      `unknown argument ${unknown.join(' ')} (npm start accepts --no-jaeger)`,
    );
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(PID_FILE, String(process.pid));
  // Until the stack's own handlers are in place (below), a signal ends the process through
  // process.exit, whose 'exit' hooks kill what has been started (Kafka, Jaeger or its build).
  const early = (): void => {
    rmSync(PID_FILE, { force: true });
    process.exit(130);
  };
  process.once('SIGINT', early);
  process.once('SIGTERM', early);
  const jaeger =
    args.includes('--no-jaeger') ||
    process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] ||
    process.env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']
      ? undefined
      : await LocalJaeger.plan(join(STATE_DIR, 'jaeger'), (line) =>
          print('jaeger', COLORS[2]!, line),
        );
  if (!jaeger)
    print(
      'jaeger',
      COLORS[2]!,
      args.includes('--no-jaeger')
        ? 'not started (--no-jaeger)'
        : `not started: spans go to ${process.env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] ?? process.env['OTEL_EXPORTER_OTLP_ENDPOINT']} (OTEL_EXPORTER_OTLP_ENDPOINT)`,
    );
  // Started before the services (at once when its binary is cached, else after a background build).
  jaeger?.start();
  let broker: KafkaBroker | undefined;
  let brokers = process.env['KAFKA_BROKERS'];
  if (!brokers) {
    print('kafka', COLORS[4]!, 'starting a local Apache Kafka broker (KRaft, single node)...');
    const dataDir = join(STATE_DIR, 'kafka');
    rmSync(dataDir, { recursive: true, force: true });
    broker = await KafkaBroker.start({ dataDir });
    brokers = broker.brokers;
    print(
      'kafka',
      COLORS[4]!,
      `broker listening on ${brokers} (log: ${join(dataDir, 'server.log')})`,
    );
  } else print('kafka', COLORS[4]!, `using the Kafka cluster at ${brokers}`);

  const target = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      print(
        'example-target',
        COLORS[3]!,
        `${req.method} ${req.url} ${Buffer.concat(chunks).toString('utf8')}`,
      );
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => target.listen(TARGET_PORT, '127.0.0.1', resolve));

  const resourcesDir =
    process.env['GANGLION_RESOURCES_DIR'] ?? join(REPO_ROOT, 'examples', 'local');
  const names: ServiceName[] = [...SERVICES, ...ingressServicesFor(resourcesDir)];
  // The example NATS source's server (Debian's nats-server, installed on demand).
  let nats: NatsServer | undefined;
  if (names.includes('ingress-nats')) {
    nats = await NatsServer.start({ port: NATS_PORT });
    print('nats', COLORS[1]!, `nats-server listening on ${nats.url}`);
  }
  const services = names.map(
    (name, i) =>
      new ServiceProcess(name, {
        healthPort: 18081 + i,
        // Prometheus /metrics: reconciler 7777, ingress-webhook 7778, sensor 7779, trigger 7780.
        metricsPort: 7777 + i,
        env: {
          KAFKA_BROKERS: brokers!,
          GANGLION_HOST: '127.0.0.1',
          GANGLION_INSTANCE_ID: 'local',
          GANGLION_RESOURCES_DIR: resourcesDir,
          // The example GitHub source's webhookSecret (github-access/secret) in local mode.
          GANGLION_SECRET_GITHUB_ACCESS_SECRET:
            process.env['GANGLION_SECRET_GITHUB_ACCESS_SECRET'] ?? 'local-dev-secret',
          ...jaeger?.exportEnv,
        },
        onLine: (line) => print(name, COLORS[i % COLORS.length]!, line),
      }),
  );
  let stopping = false;
  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    print('ganglion', COLORS[4]!, 'stopping...');
    // Services first: they flush their last spans to Jaeger on SIGTERM.
    await Promise.all(services.map((s) => s.stop()));
    await jaeger?.stop();
    await nats?.stop();
    target.close();
    await broker?.destroy();
    rmSync(PID_FILE, { force: true });
    process.exit(code);
  };
  process.removeListener('SIGINT', early);
  process.removeListener('SIGTERM', early);
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
      ...(names.includes('ingress-github')
        ? [
            'A signed GitHub-style push (secret "local-dev-secret"):',
            `  body='{"ref":"refs/heads/main","repository":{"full_name":"example/hello-world","owner":{"login":"example"}}}'`,
            `  sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac local-dev-secret | sed 's/^.* //')`,
            `  curl -X POST -H 'Content-Type: application/json' -H 'X-GitHub-Event: push' -H "X-GitHub-Delivery: $(date +%s)" -H "X-Hub-Signature-256: sha256=$sig" -d "$body" http://localhost:12100/push`,
          ]
        : []),
      ...(nats
        ? [
            'A message on the example NATS subject (the nats source bridges it into the bus):',
            `  printf 'CONNECT {}\\r\\nPUB orders.created 19\\r\\n{"message":"hello"}\\r\\nPING\\r\\n' > /dev/tcp/127.0.0.1/${NATS_PORT}`,
          ]
        : []),
      ...(names.includes('ingress-calendar')
        ? ['The calendar source logs a tick every minute.']
        : []),
      'The log trigger prints it here; the http trigger posts it to the example target on port 12001.',
      ...(jaeger ? jaeger.banner() : []),
      'Stop with Ctrl-C (or `npm stop` from another terminal).',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  if (err instanceof MissingPrerequisiteError) console.error(`ganglion: ${err.message}`);
  else console.error('ganglion: start failed:', err);
  process.exit(1);
});
