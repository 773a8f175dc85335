import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureAptBinary } from './apt-packages.js';
import { MissingPrerequisiteError } from './kafka-broker.js';
import { freePort } from './ports.js';
import { waitFor } from './wait-for.js';

/** Where Debian's rabbitmq-server and Erlang put their programs. */
const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const EPMD = '/usr/lib/erlang/bin/epmd';

/** Whether `port` on loopback accepts a TCP connection. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

function killOnExit(child: ChildProcess, group: boolean): void {
  const kill = (): void => {
    try {
      if (group && child.pid) process.kill(-child.pid, 'SIGKILL');
      else child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  };
  process.once('exit', kill);
  child.once('exit', () => process.removeListener('exit', kill));
}

/**
 * Debian's rabbitmq-server (installed on demand) as a private Erlang node on loopback: its own
 * node name, AMQP, distribution and epmd ports, and its own Mnesia, log and home directories, so
 * it neither meets another node nor the machine's rabbitmq service. Its epmd is started by us
 * in the foreground (so it is stopped by pid with the node); the default `guest` user may
 * connect from loopback.
 */
export class RabbitMqServer {
  private constructor(
    private readonly node: ChildProcess,
    private readonly epmd: ChildProcess,
    readonly port: number,
    private readonly dir: string,
  ) {}

  /** `amqp://guest:guest@127.0.0.1:<port>`. */
  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }

  static async start(): Promise<RabbitMqServer> {
    ensureAptBinary('rabbitmq-server');
    if (!existsSync(RABBITMQ_SERVER) || !existsSync(EPMD))
      throw new MissingPrerequisiteError(
        `rabbitmq-server is installed but ${RABBITMQ_SERVER} or ${EPMD} is missing (Debian layout expected)`,
      );
    const [port, distPort, epmdPort] = [await freePort(), await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), 'ganglion-rabbitmq-'));
    writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
    const env = {
      ...process.env,
      PATH: `${process.env['PATH']}:/usr/sbin`,
      HOME: dir,
      ERL_EPMD_PORT: String(epmdPort),
      ERL_EPMD_ADDRESS: '127.0.0.1',
      RABBITMQ_NODENAME: `ganglion-${port}@localhost`,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(port),
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(dir, 'log'),
      RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
      RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
    };
    const epmd = spawn(EPMD, ['-port', String(epmdPort), '-address', '127.0.0.1'], {
      env,
      stdio: 'ignore',
    });
    killOnExit(epmd, false);
    await waitFor(
      () => {
        if (epmd.exitCode !== null) throw new Error(`epmd exited with ${epmd.exitCode}`);
        return listening(epmdPort);
      },
      { timeoutMs: 15_000, what: 'epmd to listen' },
    );
    // Its own process group: the start script and the Erlang VM it runs stop together.
    const node = spawn(RABBITMQ_SERVER, [], { env, cwd: dir, stdio: 'ignore', detached: true });
    killOnExit(node, true);
    try {
      await waitFor(
        () => {
          if (node.exitCode !== null)
            throw new Error(`rabbitmq-server exited with ${node.exitCode} (logs in ${dir}/log)`);
          return listening(port);
        },
        { timeoutMs: 90_000, intervalMs: 100, what: 'rabbitmq-server to listen' },
      );
    } catch (err) {
      await new RabbitMqServer(node, epmd, port, dir).stop();
      throw err;
    }
    return new RabbitMqServer(node, epmd, port, dir);
  }

  async stop(): Promise<void> {
    await stopChild(this.node, true);
    await stopChild(this.epmd, false);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function stopChild(child: ChildProcess, group: boolean): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  try {
    if (group && child.pid) process.kill(-child.pid, 'SIGTERM');
    else child.kill('SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      if (group && child.pid) process.kill(-child.pid, 'SIGKILL');
      else child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }, 15_000);
  await exited;
  clearTimeout(timer);
  // The start script may exit before the Erlang VM of its group: make sure none is left.
  if (group && child.pid)
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* the group is gone */
    }
}
