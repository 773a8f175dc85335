/**
 * The Lua worker thread of `lua.sandbox.ts`: runs one script per message on the port it is
 * given and bumps the shared counter after each answer, which wakes the waiting caller.
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { LuaError, runLuaInThread, type LuaAnswer, type LuaLimits } from './lua.sandbox.js';

const { port, signal } = workerData as { port: MessagePort; signal: Int32Array };

port.on('message', (job: { script: string; event: unknown; limits: LuaLimits }) => {
  let answer: LuaAnswer;
  try {
    answer = { ok: true, value: runLuaInThread(job.script, job.event, job.limits) };
  } catch (e) {
    answer = {
      ok: false,
      message:
        e instanceof LuaError
          ? e.message
          : `script failed: ${e instanceof Error ? e.message : String(e)}`,
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
