import SftpClient from 'ssh2-sftp-client';
import { parseGoDuration, type SFTPEventSource } from '@ganglion/api';
import { compileRe2, re2Find } from '@ganglion/core';
import { changePublisher, pollLoop } from '../kit/directory-poll.js';
import { metadataField } from '../kit/event-metadata.js';
import { OwnedEventsRunner } from '../kit/owned-events.runner.js';
import { eventFilter, type OwnedEvent, type OwnedHost } from '../kit/owned-source.js';

/** Argo's poll interval when `pollIntervalDuration` is unset. */
const DEFAULT_POLL_MS = 10_000;

/** What a listing keeps of a file: the change Argo compares (size and modification time). */
interface Seen {
  size: number;
  modifyTime: number;
}

/** The files (not directories) of `dir`, by name. */
async function listFiles(client: SftpClient, dir: string): Promise<Map<string, Seen>> {
  const out = new Map<string, Seen>();
  for (const f of await client.list(dir))
    if (f.type !== 'd') out.set(f.name, { size: f.size, modifyTime: f.modifyTime });
  return out;
}

/**
 * Argo's diff of two listings: `REMOVE` for names gone, `CREATE` for names new or whose size or
 * modification time changed (Argo reports a rewritten file as CREATE too).
 */
function diff(
  before: Map<string, Seen>,
  now: Map<string, Seen>,
): [string, 'CREATE' | 'REMOVE', Seen][] {
  const out: [string, 'CREATE' | 'REMOVE', Seen][] = [];
  for (const [name, was] of before) if (!now.has(name)) out.push([name, 'REMOVE', was]);
  for (const [name, is] of now) {
    const was = before.get(name);
    if (!was || was.size !== is.size || was.modifyTime !== is.modifyTime)
      out.push([name, 'CREATE', is]);
  }
  return out;
}

interface Running {
  fingerprint: string;
  close(): Promise<void>;
}

/**
 * Runs the `sftp` events while this replica owns the type (one owner at a time, as Argo's leader
 * election): connects to `address` as `username` (password, or `sshKeySecret`), lists
 * `watchPathConfig.directory` every `pollIntervalDuration` (default 10 s) and publishes Argo's
 * `{name, op, metadata}` for files that appeared or changed (`CREATE`) or went (`REMOVE`) and
 * whose name is `path` or matches `pathRegexp`, when `op` equals `eventType`. The event id is
 * derived from the directory, name, operation, size and modification time, so a change seen
 * twice (a poll repeated after a failure) is one event. A lost connection is reopened at the
 * next poll, the listing compared with the last one seen.
 */
export class SftpRunner extends OwnedEventsRunner<SFTPEventSource, Running> {
  constructor(host: OwnedHost) {
    super(host, 'sftp', 'sftp source');
  }

  protected async startEvent(ev: OwnedEvent<SFTPEventSource>): Promise<Running> {
    const cfg = ev.config;
    const secrets = this.host.secrets;
    const secret = async (sel: SFTPEventSource['username']): Promise<string | undefined> => {
      if (!sel) return undefined;
      if (!secrets) throw new Error(`no Secret resolver: cannot read ${sel.name}/${sel.key}`);
      return secrets.resolve(ev.namespace, sel);
    };
    const [username, password, privateKey, address] = await Promise.all([
      secret(cfg.username),
      secret(cfg.password),
      secret(cfg.sshKeySecret),
      secret(cfg.address),
    ]);
    if (!address) throw new Error('address is required (a Secret holding host:port)');
    const at = address.lastIndexOf(':');
    const [hostName, port] =
      at > 0 ? [address.slice(0, at), Number(address.slice(at + 1))] : [address, 22];
    const dir = cfg.watchPathConfig.directory;
    const re = cfg.watchPathConfig.pathRegexp;
    if (re) compileRe2(re);
    const matches = (name: string): boolean =>
      (!!cfg.watchPathConfig.path && name === cfg.watchPathConfig.path) ||
      (!!re && re2Find(re, name));
    const pollMs = cfg.pollIntervalDuration
      ? Math.max(100, parseGoDuration(cfg.pollIntervalDuration) / 1e6)
      : DEFAULT_POLL_MS;
    const pass = eventFilter(cfg.filter?.expression, this.host.logger);
    const publish = changePublisher(this.host, ev, 'sftp');
    const logger = this.host.logger.child({ event: ev.id });

    let client: SftpClient | undefined;
    const connect = async (): Promise<SftpClient> => {
      const c = new SftpClient(`ganglion-${ev.eventName}`);
      await c.connect({
        host: hostName,
        port,
        ...(username ? { username } : {}),
        ...(privateKey ? { privateKey } : password ? { password } : {}),
        readyTimeout: 20_000,
      });
      return c;
    };
    client = await connect();
    let seen: Map<string, Seen>;
    try {
      seen = await listFiles(client, dir);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }

    const poll = async (): Promise<void> => {
      try {
        client ??= await connect();
        const now = await listFiles(client, dir);
        for (const [name, op, file] of diff(seen, now)) {
          if (op !== cfg.eventType || !matches(name)) continue;
          const data = { name, op, ...metadataField(cfg.metadata) };
          if (!pass(data)) continue;
          // Published before the listing moves on: a failure repeats the change at the next poll.
          await publish(data, `${dir}\0${name}\0${op}\0${file.size}\0${file.modifyTime}`);
        }
        seen = now;
      } catch (err) {
        logger.warn('sftp poll failed; retrying at the next poll', { error: err });
        const c = client;
        client = undefined;
        await c?.end().catch(() => undefined);
      }
    };
    const loop = pollLoop(poll, pollMs, false);
    return {
      fingerprint: ev.fingerprint,
      close: async () => {
        await loop.close();
        await client?.end().catch(() => undefined);
      },
    };
  }

  protected async stopEvent(entry: Running): Promise<void> {
    await entry.close();
  }
}
