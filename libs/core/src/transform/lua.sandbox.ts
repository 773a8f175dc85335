/**
 * A sandboxed Lua 5.3 runner on the pure-JS `fengari` VM, standing in for gopher-lua as Argo
 * Events uses it for the dependency `script` filter and `transform.script`
 * (`pkg/sensors/dependencies/{filter,transform}.go`): the global `event` is the event data as
 * a table, and the chunk's returned value is the result.
 *
 * Safety: only the base, string, table, math and utf8 libraries are opened (no io/os/package,
 * no dofile/loadfile/load/print); an instruction-count hook aborts a runaway script; the
 * hook also samples V8 heap + external memory growth (a guard, not exact accounting), and
 * `string.rep` is bounded up front, so a script fails with a clear {@link LuaError} instead of hanging the process.
 * The hook does not run inside library functions (a backtracking `string.find` runs for
 * minutes), so {@link runLua} runs all this in a worker thread under V8 heap limits and a
 * wall-clock deadline (docs/core.md, "Limits").
 */
import {
  MessageChannel,
  receiveMessageOnPort,
  Worker,
  type MessagePort,
} from 'node:worker_threads';
import { DEFAULT_DEADLINE_MS } from '../limits.js';

export class LuaError extends Error {
  override name = 'LuaError';
}

export interface LuaLimits {
  /** Max VM instructions. Default 1 000 000. */
  maxInstructions?: number;
  /** Max bytes a single `string.rep` may build. Default 8 MiB. */
  maxBytes?: number;
  /** Max growth of the JS heap plus external (ArrayBuffer) memory while the script runs. Default 64 MiB. */
  maxMemory?: number;
  /** Wall-clock deadline in milliseconds, library functions included. Default 2 000. */
  deadlineMs?: number;
}

/** Heap limits of the Lua worker: V8 stops it (and only it) when they are exceeded. */
const WORKER_LIMITS = { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 };
/** How long the worker may take to start (load fengari) before the first evaluation. */
const START_TIMEOUT_MS = 30_000;

interface LuaJob {
  script: string;
  event: unknown;
  limits: LuaLimits;
}
/** The worker's answer. */
export type LuaAnswer = { ok: true; value: unknown } | { ok: false; message: string };

interface LuaWorker {
  worker: Worker;
  port: MessagePort;
  /** [0] counts answers, [1] is 1 once the worker listens. */
  signal: Int32Array;
}
let current: LuaWorker | undefined;
/**
 * A worker started ahead, loading fengari in the background: a worker terminated after a missed
 * deadline is replaced at once, without the next evaluation (another Sensor's) waiting the
 * ~100 ms a worker takes to start.
 */
let spare: LuaWorker | undefined;

/** Starts a worker without waiting for it to listen. */
function spawnWorker(): LuaWorker {
  const signal = new Int32Array(new SharedArrayBuffer(8));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL('./lua.worker.js', import.meta.url), {
    workerData: { port: port2, signal },
    transferList: [port2],
    resourceLimits: WORKER_LIMITS,
    // not the process's flags: a service's `--import @ganglion/telemetry/register` would start
    // a second OpenTelemetry SDK in the worker
    execArgv: [],
    stdout: false,
    stderr: false,
  });
  worker.unref();
  port1.unref();
  // The worker's death (terminated, out of memory) is seen by the caller as a missed deadline.
  worker.on('error', () => undefined);
  return { worker, port: port1, signal };
}

/** The worker in service: the spare when there is one (then a new spare starts), else a new one. */
function takeWorker(): LuaWorker {
  if (current) return current;
  const w = spare ?? spawnWorker();
  spare = undefined;
  if (Atomics.wait(w.signal, 1, 0, START_TIMEOUT_MS) === 'timed-out') {
    w.port.close();
    void w.worker.terminate();
    throw new LuaError(`the Lua worker did not start within ${START_TIMEOUT_MS} ms`);
  }
  current = w;
  spare = spawnWorker();
  return w;
}

function dropWorker(w: LuaWorker): void {
  if (current === w) current = undefined;
  w.port.close();
  void w.worker.terminate();
}

/**
 * Runs `script` with the global `event` set to `event`, returning the chunk's first returned
 * value converted to JSON (tables become objects or arrays). Throws {@link LuaError}.
 *
 * The script runs in a worker thread with V8 heap limits, and the caller waits for it
 * synchronously (`Atomics.wait`) up to `deadlineMs`: a script stuck inside a library function
 * (a backtracking pattern) or exhausting the worker's heap misses the deadline, the worker is
 * terminated and replaced, and this throws; the process is never blocked longer nor killed.
 */
export function runLua(script: string, event: unknown, limits: LuaLimits = {}): unknown {
  if (typeof script !== 'string') throw new LuaError('script must be a string');
  const deadlineMs = limits.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const w = takeWorker();
  const seen = Atomics.load(w.signal, 0);
  const job: LuaJob = { script, event, limits };
  try {
    w.port.postMessage(job);
  } catch (e) {
    throw new LuaError(
      `event data cannot be passed to Lua: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (Atomics.wait(w.signal, 0, seen, deadlineMs) === 'timed-out') {
    dropWorker(w);
    throw new LuaError(`script exceeded its deadline of ${deadlineMs} ms`);
  }
  const msg = receiveMessageOnPort(w.port);
  if (!msg) {
    dropWorker(w);
    throw new LuaError('the Lua worker answered nothing');
  }
  const answer = msg.message as LuaAnswer;
  if (!answer.ok) throw new LuaError(answer.message);
  return answer.value;
}
