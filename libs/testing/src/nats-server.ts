import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureAptBinary } from './apt-packages.js';
import { freePort } from './ports.js';
import { waitFor } from './wait-for.js';

export interface NatsServerOptions {
  /** Require this user and password. */
  user?: string;
  password?: string;
  /** Require this token. */
  token?: string;
  /** Listen on this loopback port (default: a free one). */
  port?: number;
}

/** Debian's nats-server (installed on demand) on a free loopback port, with JetStream. */
export class NatsServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  static async start(options: NatsServerOptions = {}): Promise<NatsServer> {
    ensureAptBinary('nats-server');
    const port = options.port ?? (await freePort());
    const dir = mkdtempSync(join(tmpdir(), 'ganglion-nats-'));
    const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir];
    if (options.user) args.push('--user', options.user, '--pass', options.password ?? '');
    if (options.token) args.push('--auth', options.token);
    const child = spawn('nats-server', args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, PATH: `${process.env['PATH']}:/usr/sbin` },
    });
    const kill = (): void => void child.kill('SIGKILL');
    process.once('exit', kill);
    child.once('exit', () => process.removeListener('exit', kill));
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}`);
          const s = connect(port, '127.0.0.1', () => {
            s.destroy();
            resolve(true);
          });
          s.on('error', () => resolve(false));
        }),
      { timeoutMs: 15_000, what: 'nats-server to listen' },
    );
    return new NatsServer(child, port, dir);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
