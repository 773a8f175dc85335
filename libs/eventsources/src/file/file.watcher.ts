import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** fsnotify's operation names (Argo's `eventType`). */
export type FileOp = 'CREATE' | 'WRITE' | 'REMOVE' | 'RENAME' | 'CHMOD';

interface Entry {
  ino: number;
  size: number;
  mtimeMs: number;
  mode: number;
}

/**
 * Classifies changes between two snapshots of a directory as fsnotify would report them: a new
 * name is CREATE, a vanished name REMOVE, or RENAME when its inode reappears under a new name
 * (which is then also a CREATE, as fsnotify reports both); a size or mtime change is WRITE, a
 * mode change alone CHMOD.
 */
export function diffSnapshots(
  before: Map<string, Entry>,
  after: Map<string, Entry>,
): { name: string; op: FileOp }[] {
  const out: { name: string; op: FileOp }[] = [];
  const newInodes = new Map<number, string>();
  for (const [name, e] of after) if (!before.has(name)) newInodes.set(e.ino, name);
  for (const [name, e] of before) {
    const now = after.get(name);
    if (!now) out.push({ name, op: newInodes.has(e.ino) ? 'RENAME' : 'REMOVE' });
    else if (now.ino !== e.ino) out.push({ name, op: 'CREATE' });
    else if (now.size !== e.size || now.mtimeMs !== e.mtimeMs) out.push({ name, op: 'WRITE' });
    else if (now.mode !== e.mode) out.push({ name, op: 'CHMOD' });
  }
  for (const name of after.keys()) if (!before.has(name)) out.push({ name, op: 'CREATE' });
  return out;
}

async function snapshot(dir: string): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    try {
      const s = await stat(join(dir, name));
      if (s.isFile()) out.set(name, { ino: s.ino, size: s.size, mtimeMs: s.mtimeMs, mode: s.mode });
    } catch {
      // vanished between readdir and stat
    }
  }
  return out;
}

/**
 * Watches one directory (not recursively): with inotify (`fs.watch`) as the trigger, or by
 * polling every `pollMs`; either way changes are found by diffing snapshots, so both modes
 * report the same operations.
 */
export class DirectoryWatcher {
  private current = new Map<string, Entry>();
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> = Promise.resolve();
  private pending = false;
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly onChange: (name: string, op: FileOp) => void,
    private readonly polling: boolean,
    private readonly pollMs = 1000,
  ) {}

  async start(): Promise<void> {
    this.current = await snapshot(this.dir);
    if (this.polling) this.timer = setInterval(() => this.rescan(), this.pollMs);
    else {
      this.watcher = watch(this.dir, { persistent: true }, () => this.rescan());
      this.watcher.on('error', () => this.rescan());
    }
  }

  private rescan(): void {
    if (this.pending || this.closed) return;
    this.pending = true;
    this.scanning = this.scanning.then(async () => {
      this.pending = false;
      const next = await snapshot(this.dir);
      const changes = diffSnapshots(this.current, next);
      this.current = next;
      if (!this.closed) for (const c of changes) this.onChange(c.name, c.op);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
    await this.scanning;
  }
}
