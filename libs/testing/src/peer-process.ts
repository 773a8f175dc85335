import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { waitFor } from './wait-for.js';

/** Options of {@link PeerProcess.start}. */
export interface PeerProcessOptions {
  /** What the peer is, for messages (`ElasticMQ`, `pstest`). */
  what: string;
  /** The loopback port it listens on once ready. */
  port: number;
  env?: Record<string, string>;
  cwd?: string;
  /** How long it may take to listen (default 120 s: JVM peers start slowly on a loaded machine). */
  timeoutMs?: number;
}

/** True when something accepts TCP connections on `127.0.0.1:port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/**
 * A test peer (a message queue, an emulator, an SSH server) as a child process on a loopback
 * port: started and awaited until it accepts connections, killed with the test process, stopped
 * by pid. Keeps the tail of its output for the error message when it exits early.
 */
export class PeerProcess {
  private output = '';
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly what: string,
  ) {
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString()).slice(-8000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const kill = (): void => void child.kill('SIGKILL');
    process.once('exit', kill);
    child.once('exit', () => process.removeListener('exit', kill));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The last lines the peer printed. */
  get log(): string {
    return this.output;
  }

  static async start(
    command: string,
    args: string[],
    options: PeerProcessOptions,
  ): Promise<PeerProcess> {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.cwd ? { cwd: options.cwd } : {}),
      env: { ...process.env, ...options.env },
    });
    const peer = new PeerProcess(child, options.port, options.what);
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null || child.signalCode !== null)
            throw new Error(
              `${options.what} exited (${child.exitCode ?? child.signalCode}): ${peer.output.slice(-2000)}`,
            );
          return listening(options.port);
        },
        {
          timeoutMs: options.timeoutMs ?? 120_000,
          intervalMs: 100,
          what: `${options.what} to listen on 127.0.0.1:${options.port}`,
        },
      );
    } catch (err) {
      await peer.stop();
      throw err;
    }
    return peer;
  }

  /** Stops the peer (SIGTERM, SIGKILL after 10 s) and waits for it to exit. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}
