import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureAptBinary } from './apt-packages.js';
import { waitFor } from './wait-for.js';

/**
 * Container settings this machine kind needs (docs/deployment.md): runc, because crun refuses
 * cgroups v1 hybrid mode; cgroupfs (no systemd manager); lower ulimits, because root here lacks
 * CAP_SYS_RESOURCE and the defaults cannot be set.
 */
const CONTAINERS_CONF = `[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
`;

/** Makes sure podman and runc are installed; returns a containers.conf for this machine kind. */
function podmanConf(dir: string): string {
  ensureAptBinary('podman');
  ensureAptBinary('runc');
  const conf = join(dir, 'containers.conf');
  writeFileSync(conf, CONTAINERS_CONF);
  return conf;
}

/**
 * Runs `podman <args>` with this machine kind's settings (runc, lower ulimits) and resolves to
 * its exit code and output.
 */
export function podman(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ganglion-podman-'));
  const conf = podmanConf(dir);
  return new Promise((resolve, reject) => {
    const child = spawn('podman', args, {
      env: { ...process.env, CONTAINERS_CONF: conf },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      rmSync(dir, { recursive: true, force: true });
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

/**
 * Debian's podman serving the Docker-compatible API (`podman system service`) on a private unix
 * socket, for testcontainers (no Docker daemon exists here). Containers use the local containers
 * storage, so the images scripts/image.sh builds are there; nothing is pulled.
 */
export class PodmanService {
  private constructor(
    private readonly dir: string,
    private readonly child: ChildProcess,
    /** The API socket's path. */
    readonly socket: string,
  ) {}

  /** `DOCKER_HOST` for clients of this service (testcontainers, dockerode). */
  get dockerHost(): string {
    return `unix://${this.socket}`;
  }

  static async start(): Promise<PodmanService> {
    const dir = mkdtempSync(join(tmpdir(), 'ganglion-podman-api-'));
    const conf = podmanConf(dir);
    const socket = join(dir, 'podman.sock');
    const child = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], {
      env: { ...process.env, CONTAINERS_CONF: conf },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    let exited: number | null | undefined;
    child.on('exit', (code) => (exited = code));
    const service = new PodmanService(dir, child, socket);
    try {
      await waitFor(
        async () => {
          if (exited !== undefined)
            throw new Error(`podman system service exited with ${exited}: ${stderr.trim()}`);
          return existsSync(socket) && (await ping(socket));
        },
        { timeoutMs: 60_000, what: 'the podman API socket to answer /_ping' },
      );
    } catch (err) {
      await service.stop();
      throw err;
    }
    return service;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const gone = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await gone;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 5_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
