/**
 * The Lua worker thread of `lua.sandbox.ts`: runs one script per message on the port it is
 * given and bumps the shared counter after each answer, which wakes the waiting caller.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { LuaError, type LuaAnswer, type LuaLimits } from './lua.sandbox.js';
import { runLuaInThread } from './lua.vm.js';

const { port, signal } = workerData as { port: MessagePort; signal: Int32Array };

/**
 * fengari's strings and string buffers are `Uint8Array`s, outside the V8 heap that the worker's
 * `resourceLimits` bound, and library functions (`table.concat`, `string.format`, `gsub`) grow
 * them where the instruction hook cannot look. In this thread, which runs nothing but fengari,
 * every `Uint8Array` allocation larger than the script's memory limit fails.
 */
let maxAllocation = 64 * 1024 * 1024;
/** Set when an allocation was refused: fengari may report the failure with another error value. */
let refused: string | undefined;
const NativeUint8Array = Uint8Array;
(globalThis as { Uint8Array: unknown }).Uint8Array = new Proxy(NativeUint8Array, {
  construct(target, args: unknown[], newTarget: new (...a: unknown[]) => object): object {
    const n = args[0];
    if (typeof n === 'number' && n > maxAllocation) {
      refused = `script exceeded the memory limit of ${maxAllocation} bytes (a string of ${n} bytes)`;
      throw new RangeError(refused);
    }
    return Reflect.construct(target, args, newTarget) as object;
  },
});

port.on('message', (job: { script: string; event: unknown; limits: LuaLimits }) => {
  let answer: LuaAnswer;
  maxAllocation = job.limits.maxMemory ?? 64 * 1024 * 1024;
  refused = undefined;
  try {
    answer = { ok: true, value: runLuaInThread(job.script, job.event, job.limits) };
  } catch (e) {
    answer = {
      ok: false,
      message:
        refused ??
        (e instanceof LuaError
          ? e.message
          : `script failed: ${e instanceof Error ? e.message : String(e)}`),
    };
  }
  try {
    port.postMessage(answer);
  } catch (e) {
    port.postMessage({
      ok: false,
      message: `Lua result cannot be passed back: ${e instanceof Error ? e.message : String(e)}`,
    });
  }
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
});
Atomics.store(signal, 1, 1);
Atomics.notify(signal, 1);
