import { freePort } from './ports.js';
import { ServiceProcess, type ServiceName } from './service-process.js';

/**
 * Replicas of an owned ingress service (calendar, file, resource) as separate processes, with the
 * instance ids `<prefix>-a`, `<prefix>-b`, … and a short ownership session (6 s), for handover
 * tests. Output lines go to the console with `TEST_VERBOSE=1`.
 */
export class OwnedReplicas {
  readonly replicas: ServiceProcess[] = [];

  constructor(
    private readonly service: ServiceName,
    private readonly prefix: string,
    private readonly env: Record<string, string>,
    private readonly count = 2,
  ) {}

  /** Starts every replica and waits until each is ready. */
  async start(): Promise<this> {
    for (const name of 'abcdefghij'.slice(0, this.count)) {
      const proc = new ServiceProcess(this.service, {
        healthPort: await freePort(),
        env: {
          GANGLION_INSTANCE_ID: `${this.prefix}-${name}`,
          GANGLION_OWNERSHIP_SESSION_MS: '6000',
          LOG_LEVEL: 'info',
          ...this.env,
        },
        ...(process.env['TEST_VERBOSE']
          ? { onLine: (l: string) => console.log(`[${name}] ${l}`) }
          : {}),
      });
      this.replicas.push(proc.start());
    }
    await Promise.all(this.replicas.map((r) => r.ready()));
    return this;
  }

  /** The one running replica whose last ownership log line is `acquired ownership` (undefined unless exactly one). */
  owner(): ServiceProcess | undefined {
    const owners = this.replicas.filter((r) => {
      const events = r
        .records()
        .filter((l) => l['msg'] === 'acquired ownership' || l['msg'] === 'released ownership');
      return r.running && events.at(-1)?.['msg'] === 'acquired ownership';
    });
    return owners.length === 1 ? owners[0] : undefined;
  }

  /** A replica other than `r`. */
  other(r: ServiceProcess): ServiceProcess {
    return this.replicas.find((x) => x !== r)!;
  }

  async stop(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.stop()));
  }
}
