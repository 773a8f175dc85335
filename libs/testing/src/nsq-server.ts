import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureNsq } from './go-tools.js';
import { freePort } from './ports.js';
import { waitFor } from './wait-for.js';

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

function startChild(bin: string, args: string[]): ChildProcess {
  const child = spawn(bin, args, { stdio: 'ignore' });
  const kill = (): void => void child.kill('SIGKILL');
  process.once('exit', kill);
  child.once('exit', () => process.removeListener('exit', kill));
  return child;
}

async function listen(child: ChildProcess, port: number, what: string): Promise<void> {
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
      return listening(port);
    },
    { timeoutMs: 20_000, what: `${what} to listen` },
  );
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/**
 * NSQ (nsqlookupd and one nsqd, built from the Go module proxy and cached) on free loopback
 * ports, nsqd registered with the lookupd and announcing 127.0.0.1. Argo's `hostAddress` is the
 * lookupd's HTTP address ({@link lookupdHttpAddress}).
 */
export class NsqServer {
  private constructor(
    private readonly lookupd: ChildProcess,
    private readonly nsqd: ChildProcess,
    private readonly ports: { lookupdHttp: number; nsqdTcp: number; nsqdHttp: number },
    private readonly dir: string,
  ) {}

  /** nsqlookupd's HTTP address (`127.0.0.1:<port>`): Argo's `hostAddress`. */
  get lookupdHttpAddress(): string {
    return `127.0.0.1:${this.ports.lookupdHttp}`;
  }

  /** nsqd's TCP address (`127.0.0.1:<port>`), for publishing clients. */
  get nsqdTcpAddress(): string {
    return `127.0.0.1:${this.ports.nsqdTcp}`;
  }

  /** nsqd's HTTP base URL (`/pub`, `/mpub`, `/stats`). */
  get nsqdHttpUrl(): string {
    return `http://127.0.0.1:${this.ports.nsqdHttp}`;
  }

  static async start(): Promise<NsqServer> {
    const bins = ensureNsq();
    const [lookupdTcp, lookupdHttp, nsqdTcp, nsqdHttp] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const dir = mkdtempSync(join(tmpdir(), 'ganglion-nsq-'));
    const lookupd = startChild(bins.nsqlookupd, [
      `--tcp-address=127.0.0.1:${lookupdTcp}`,
      `--http-address=127.0.0.1:${lookupdHttp}`,
      '--broadcast-address=127.0.0.1',
    ]);
    await listen(lookupd, lookupdHttp, 'nsqlookupd');
    const nsqd = startChild(bins.nsqd, [
      `--tcp-address=127.0.0.1:${nsqdTcp}`,
      `--http-address=127.0.0.1:${nsqdHttp}`,
      '--broadcast-address=127.0.0.1',
      `--lookupd-tcp-address=127.0.0.1:${lookupdTcp}`,
      `--data-path=${dir}`,
    ]);
    const server = new NsqServer(lookupd, nsqd, { lookupdHttp, nsqdTcp, nsqdHttp }, dir);
    try {
      await listen(nsqd, nsqdHttp, 'nsqd');
      await listen(nsqd, nsqdTcp, 'nsqd');
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  /** Publishes `bodies` to `topic` through nsqd's HTTP `/mpub` (binary mode). */
  async publish(topic: string, bodies: (string | Buffer)[]): Promise<void> {
    for (let i = 0; i < bodies.length; i += 500) {
      const chunk = bodies.slice(i, i + 500).map((b) => Buffer.from(b));
      const parts: Buffer[] = [Buffer.alloc(4)];
      parts[0]!.writeUInt32BE(chunk.length);
      for (const b of chunk) {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(b.length);
        parts.push(len, b);
      }
      const res = await fetch(
        `${this.nsqdHttpUrl}/mpub?topic=${encodeURIComponent(topic)}&binary=true`,
        { method: 'POST', body: Buffer.concat(parts) },
      );
      if (!res.ok) throw new Error(`nsqd /mpub: ${res.status} ${await res.text()}`);
    }
  }

  /** Messages of `topic`/`channel` not yet finished (queued plus in flight), from `/stats`. */
  async pending(topic: string, channel: string): Promise<number> {
    const res = await fetch(
      `${this.nsqdHttpUrl}/stats?format=json&topic=${encodeURIComponent(topic)}&channel=${encodeURIComponent(channel)}`,
    );
    const stats = (await res.json()) as {
      topics?: {
        topic_name: string;
        channels: { channel_name: string; depth: number; in_flight_count: number }[];
      }[];
    };
    const ch = stats.topics
      ?.find((t) => t.topic_name === topic)
      ?.channels.find((c) => c.channel_name === channel);
    return ch ? ch.depth + ch.in_flight_count : 0;
  }

  async stop(): Promise<void> {
    await stopChild(this.nsqd);
    await stopChild(this.lookupd);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
