import { parseGoDuration, type HDFSEventSource } from '@ganglion/api';
import { compileRe2, re2Find } from '@ganglion/core';
import { changePublisher, pollLoop } from '../kit/directory-poll.js';
import { metadataField } from '../kit/event-metadata.js';
import { OwnedEventsRunner } from '../kit/owned-events.runner.js';
import { eventFilter, type OwnedEvent, type OwnedHost } from '../kit/owned-source.js';

/** Argo's check interval when `checkInterval` is unset (one minute). */
const DEFAULT_CHECK_MS = 60_000;
/** Each WebHDFS request is bounded by this, so a name node that hangs fails the poll. */
const REQUEST_TIMEOUT_MS = 30_000;
/** The NameNode's HTTP port (WebHDFS) when an address has none. */
const DEFAULT_WEBHDFS_PORT = 9870;

/** The operations of Argo's naive watcher, in the order its `Op.String()` joins them with `|`. */
const OPS = ['CREATE', 'WRITE', 'REMOVE', 'RENAME', 'CHMOD'] as const;
type Op = (typeof OPS)[number];

/** What a listing keeps of an entry: Argo compares path, modification time, size and mode. */
interface Entry {
  path: string;
  fileId: string;
  modificationTime: number;
  length: number;
  permission: string;
}

/** One WebHDFS `FileStatus` (the fields read here). */
interface FileStatus {
  pathSuffix: string;
  type: 'FILE' | 'DIRECTORY' | 'SYMLINK';
  length: number;
  modificationTime: number;
  permission: string;
  fileId?: number;
}

/** A WebHDFS error answer (`RemoteException`), or an unreachable name node. */
class WebHdfsError extends Error {}

/** A WebHDFS client over the name nodes' HTTP addresses, trying each in turn (HA: the standby refuses). */
class WebHdfs {
  constructor(
    private readonly addresses: string[],
    private readonly user: string,
  ) {}

  private url(address: string, path: string, op: string): string {
    const hostPort = /:\d+$/.test(address) ? address : `${address}:${DEFAULT_WEBHDFS_PORT}`;
    const base = /^https?:\/\//.test(hostPort) ? hostPort : `http://${hostPort}`;
    const encoded = path
      .split('/')
      .map((s) => encodeURIComponent(s))
      .join('/');
    return `${base}/webhdfs/v1${encoded}?op=${op}&user.name=${encodeURIComponent(this.user)}`;
  }

  /** The entries of `dir` (LISTSTATUS). */
  async list(dir: string): Promise<FileStatus[]> {
    const failures: string[] = [];
    for (const address of this.addresses) {
      let res: Response;
      try {
        res = await fetch(this.url(address, dir, 'LISTSTATUS'), {
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
      } catch (err) {
        failures.push(`${address}: ${(err as Error).message}`);
        continue;
      }
      const body = (await res.json().catch(() => undefined)) as
        | { FileStatuses?: { FileStatus?: FileStatus[] }; RemoteException?: { message?: string } }
        | undefined;
      if (res.ok && body?.FileStatuses) return body.FileStatuses.FileStatus ?? [];
      const reason = body?.RemoteException?.message ?? `HTTP ${res.status}`;
      // A missing directory or a refused user is the same on every name node: no point trying on.
      if (res.status === 404 || res.status === 401)
        throw new WebHdfsError(`WebHDFS LISTSTATUS ${dir} at ${address}: ${reason}`);
      failures.push(`${address}: ${reason}`);
    }
    throw new WebHdfsError(
      `WebHDFS LISTSTATUS ${dir} failed on every address (${failures.join('; ')})`,
    );
  }

  /** The files under `root`, recursively (Argo walks the directory), by path. */
  async walk(root: string): Promise<Map<string, Entry>> {
    const out = new Map<string, Entry>();
    const visit = async (dir: string): Promise<void> => {
      for (const s of await this.list(dir)) {
        const path = `${dir.replace(/\/+$/, '')}/${s.pathSuffix}`;
        if (s.type === 'DIRECTORY') {
          await visit(path);
          continue;
        }
        out.set(path, {
          path,
          fileId: String(s.fileId ?? path),
          modificationTime: s.modificationTime,
          length: s.length,
          permission: s.permission,
        });
      }
    };
    await visit(root);
    return out;
  }
}

const basename = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/**
 * Argo's naive watcher's diff of two listings, per file the operations seen. Argo identifies a
 * file by its base name, so a file moved to another directory of the tree under the same name is
 * `RENAME`, and one renamed within a directory is `REMOVE` of the old path and `CREATE` of the new
 * one; here a move is recognised by the HDFS file id and the base name together, which gives the
 * same operations without Argo's confusion of two files sharing a base name.
 */
function diff(before: Map<string, Entry>, now: Map<string, Entry>): [Entry, Op[]][] {
  const out: [Entry, Op[]][] = [];
  const gone = new Map<string, Entry>();
  for (const [path, was] of before) if (!now.has(path)) gone.set(was.fileId, was);
  const changes = (was: Entry, is: Entry): Op[] => {
    const ops: Op[] = [];
    if (was.path !== is.path) ops.push('RENAME');
    if (was.modificationTime !== is.modificationTime || was.length !== is.length) ops.push('WRITE');
    if (was.permission !== is.permission) ops.push('CHMOD');
    return OPS.filter((o) => ops.includes(o));
  };
  for (const [path, is] of now) {
    const was = before.get(path);
    if (was) {
      const ops = changes(was, is);
      if (ops.length) out.push([is, ops]);
      continue;
    }
    const moved = gone.get(is.fileId);
    if (moved && basename(moved.path) === basename(is.path)) {
      gone.delete(is.fileId);
      out.push([is, changes(moved, is)]);
    } else out.push([is, ['CREATE']]);
  }
  for (const was of gone.values()) out.push([was, ['REMOVE']]);
  return out;
}

interface Running {
  fingerprint: string;
  close(): Promise<void>;
}

/**
 * Runs the `hdfs` events while this replica owns the type (one owner at a time, as Argo's leader
 * election): every `checkInterval` (default 1 m) lists `directory` recursively over WebHDFS as
 * `hdfsUser`, diffs the listing with the previous one as Argo's naive watcher does, and publishes
 * Argo's `{name, op, metadata}` for files whose path relative to `directory` is `path` or matches
 * `pathRegexp`, when `type` is among the operations seen. As in Argo, the first listing reports
 * every file present as `CREATE`. The event id derives from the path, the operations, the
 * modification time, size and permission, so a listing published twice (a restart, a handover, a
 * poll repeated after a failure) repeats the same ids.
 */
export class HdfsRunner extends OwnedEventsRunner<HDFSEventSource, Running> {
  constructor(host: OwnedHost) {
    super(host, 'hdfs', 'hdfs source');
  }

  protected async startEvent(ev: OwnedEvent<HDFSEventSource>): Promise<Running> {
    const cfg = ev.config;
    if (cfg.krbCCacheSecret || cfg.krbKeytabSecret)
      throw new Error(
        'Kerberos (krbCCacheSecret/krbKeytabSecret) is not supported by this release: WebHDFS with SPNEGO is not implemented; use hdfsUser (simple authentication)',
      );
    if (!cfg.hdfsUser) throw new Error('hdfsUser is required');
    if (!cfg.addresses?.length) throw new Error('addresses is required (the name nodes)');
    const dir = cfg.directory;
    const re = cfg.pathRegexp;
    if (re) compileRe2(re);
    const matches = (path: string): boolean => {
      const rel = path.startsWith(dir) ? path.slice(dir.length) : path;
      return (!!cfg.path && rel === cfg.path) || (!!re && re2Find(re, rel));
    };
    const checkMs = cfg.checkInterval
      ? Math.max(100, parseGoDuration(cfg.checkInterval) / 1e6)
      : DEFAULT_CHECK_MS;
    const pass = eventFilter(cfg.filter?.expression, this.host.logger);
    const publish = changePublisher(this.host, ev, 'hdfs');
    const logger = this.host.logger.child({ event: ev.id });
    const hdfs = new WebHdfs(cfg.addresses, cfg.hdfsUser);

    // The first listing fails the start (retried by the kit) with the reason, e.g. no such directory.
    let first: Map<string, Entry> | undefined = await hdfs.walk(dir);
    let seen = new Map<string, Entry>();
    const poll = async (): Promise<void> => {
      try {
        const now = first ?? (await hdfs.walk(dir));
        first = undefined;
        for (const [entry, ops] of diff(seen, now)) {
          if (!ops.includes(cfg.type as Op) || !matches(entry.path)) continue;
          const op = ops.join('|');
          const data = { name: entry.path, op, ...metadataField(cfg.metadata) };
          if (!pass(data)) continue;
          // Published before the listing moves on: a failure repeats the change at the next poll.
          await publish(
            data,
            `${entry.path}\0${op}\0${entry.modificationTime}\0${entry.length}\0${entry.permission}`,
          );
        }
        seen = now;
      } catch (err) {
        logger.warn('hdfs poll failed; retrying at the next check', { error: err });
      }
    };
    const loop = pollLoop(poll, checkMs, true);
    return {
      fingerprint: ev.fingerprint,
      close: () => loop.close(),
    };
  }

  protected async stopEvent(entry: Running): Promise<void> {
    await entry.close();
  }
}
