import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureAptBinary } from './apt-packages.js';
import { freePort } from './ports.js';
import { waitFor } from './wait-for.js';

/**
 * A Debian-packaged server (installed on demand) run by a test on a free loopback port, with
 * its data in a temporary directory: stopped (SIGTERM) and restarted on the same port and data.
 */
class LoopbackServer {
  private child: ChildProcess | undefined;

  protected constructor(
    private readonly binary: string,
    private readonly args: (port: number, dir: string) => string[],
    readonly port: number,
    readonly dir: string,
  ) {}

  protected static async prepare(
    binary: string,
    pkg: string,
  ): Promise<{ port: number; dir: string }> {
    ensureAptBinary(binary, pkg);
    return { port: await freePort(), dir: mkdtempSync(join(tmpdir(), `ganglion-${binary}-`)) };
  }

  /** Starts (or restarts) the server and waits until it accepts connections. */
  async resume(): Promise<void> {
    const child = spawn(this.binary, this.args(this.port, this.dir), {
      stdio: ['ignore', 'ignore', 'pipe'],
      cwd: this.dir,
      env: { ...process.env, PATH: `${process.env['PATH']}:/usr/sbin` },
    });
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const kill = (): void => void child.kill('SIGKILL');
    process.once('exit', kill);
    child.once('exit', () => process.removeListener('exit', kill));
    await waitFor(
      () =>
        new Promise<boolean>((resolve, reject) => {
          if (child.exitCode !== null) {
            reject(new Error(`${this.binary} exited with ${child.exitCode}: ${stderr}`));
            return;
          }
          const s = connect(this.port, '127.0.0.1', () => {
            s.destroy();
            resolve(true);
          });
          s.on('error', () => resolve(false));
        }),
      { timeoutMs: 20_000, what: `${this.binary} to listen on ${this.port}` },
    );
  }

  /** Stops the server (SIGTERM); its data stays for {@link resume}. */
  async pause(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }

  async stop(): Promise<void> {
    await this.pause();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Debian's redis-server on a free loopback port (no persistence to disk beyond its directory). */
export class RedisServer extends LoopbackServer {
  get hostAddress(): string {
    return `127.0.0.1:${this.port}`;
  }

  static async start(): Promise<RedisServer> {
    const { port, dir } = await LoopbackServer.prepare('redis-server', 'redis-server');
    const server = new RedisServer(
      'redis-server',
      (p, d) => [
        '--port',
        String(p),
        '--bind',
        '127.0.0.1',
        '--dir',
        d,
        '--save',
        '',
        '--appendonly',
        'yes',
      ],
      port,
      dir,
    );
    await server.resume();
    return server;
  }
}

/**
 * Debian's mosquitto on a free loopback port, anonymous access, persistent sessions kept on
 * disk, and no limit on the messages queued for an offline persistent session.
 */
export class Mosquitto extends LoopbackServer {
  get url(): string {
    return `tcp://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<Mosquitto> {
    const { port, dir } = await LoopbackServer.prepare('mosquitto', 'mosquitto');
    const conf = join(dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        'persistence true',
        `persistence_location ${dir}/`,
        'max_queued_messages 0',
        'max_inflight_messages 100',
        '',
      ].join('\n'),
    );
    const server = new Mosquitto('mosquitto', () => ['-c', conf], port, dir);
    await server.resume();
    return server;
  }
}
