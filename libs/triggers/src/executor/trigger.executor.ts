import { TRIGGER_TYPES, type Trigger, type TriggerType } from '@ganglion/api';
import {
  applyParameters,
  cappedDoubling,
  createRateLimiter,
  initialRateLimitState,
  nextDelay,
  NO_RETRY_BACKOFF,
  ParameterError,
  parseBackoff,
  take,
  triggerKey,
  type ActionRecord,
  type ActionStatus,
  type Backoff,
  type DeadLetterRecord,
  type EventsByDependency,
  type OutcomeRecord,
  type RateLimiter,
  type RateLimitState,
} from '@ganglion/core';
import type { SecretResolver } from '@ganglion/k8s';
import type { Logger } from '@ganglion/telemetry';
import type { TriggerPlugin, TriggerResult } from '../trigger.js';

export type ActionOutcome = Extract<OutcomeRecord, { kind: 'action' }>;

/**
 * An action as the executor runs it: the decoded record plus whatever its caller keeps with it
 * (the runner's bus and source record), handed back unchanged to the hooks below.
 */
export interface ActionEnvelope {
  action: ActionRecord;
}

/**
 * An action's retry progress in the attempt log (libs/eventbus, `<bus>-attempts`): written when
 * an attempt failed and another is due, so a restarted trigger resumes with the attempt count
 * and the next attempt's time; its `done` entry is written with the action's last records.
 */
export interface AttemptEntry {
  v: 1;
  /** `trigger`: the trigger's attempts; `dlq`: the dlqTrigger's (the trigger's ended: `main`); `done`: recorded. */
  phase: 'trigger' | 'dlq' | 'done';
  /** Attempts made in this phase. */
  attempts: number;
  /** Their errors, oldest first. */
  errors: string[];
  /** When the next attempt is due (epoch ms). */
  nextAt: number;
  /** How the trigger's own attempts ended (phases `dlq` and `done`). */
  main?: { attempts: number; errors: string[]; error: string };
  /** The action's status (phase `done`). */
  status?: ActionStatus;
}

/** Where attempt entries are kept (the runner's bus-backed log; none: retries live in memory only). */
export interface AttemptLog<E extends ActionEnvelope = ActionEnvelope> {
  /** The action's latest entry (after a restart or a re-delivery), if any. */
  load(envelope: E): AttemptEntry | undefined;
  /** Saves an entry; resolves once acknowledged. */
  save(envelope: E, entry: AttemptEntry): Promise<void>;
  /** The dead letter (if any), the outcome and the `done` entry, in one transaction. */
  finish(
    envelope: E,
    outcome: ActionOutcome,
    deadLetter: DeadLetterRecord | undefined,
    entry: AttemptEntry,
  ): Promise<void>;
}

export interface TriggerExecutorOptions<E extends ActionEnvelope = ActionEnvelope> {
  /** The plugin of every trigger type (the exhaustive registry). */
  plugins: Record<TriggerType, TriggerPlugin<never>>;
  secrets: SecretResolver;
  logger: Logger;
  /** Records an action's outcome durably (`P-outcomes`); resolves once acknowledged. */
  recordOutcome: (outcome: ActionOutcome, envelope: E) => Promise<void>;
  /** Records an action that did not succeed (`P-dlq`); resolves once acknowledged. */
  recordDeadLetter: (record: DeadLetterRecord, envelope: E) => Promise<void>;
  /**
   * Actions of one trigger run at once when the trigger does not ask for order (default 1:
   * strictly in order). A trigger with `atLeastOnce: true` always runs one action at a time.
   */
  maxConcurrencyPerTrigger?: number;
  /** Actions admitted and not yet recorded, over all triggers, before admission waits (default 10 000). */
  maxBuffered?: number;
  /** The same bound per trigger (default 1 000): a stuck target holds at most this many actions. */
  maxBufferedPerTrigger?: number;
  /**
   * Instrumentation around one action (tracing spans, metrics), passed in by the service so
   * this library stays free of it: `run` executes the action, and starts recording its
   * outcome, inside whatever context the hook makes active; the hook sees the outcome.
   */
  aroundAction?: (envelope: E, run: () => Promise<ActionOutcome>) => Promise<ActionOutcome>;
  /** Keeps retry progress across restarts (see {@link AttemptLog}). */
  attemptLog?: AttemptLog<E>;
  /** Randomness for backoff jitter; a clock (ms). */
  random?: () => number;
  now?: () => number;
}

interface Job<E extends ActionEnvelope> {
  envelope: E;
  action: ActionRecord;
  resolve: () => void;
  reject: (err: Error) => void;
  /** Taken off the lane's queue. */
  started: boolean;
  /** Sleeping by design: a retry's backoff, a rate limit. */
  waiting: boolean;
}

/** The actions of one trigger key: ordering, concurrency and rate-limit state live here. */
interface Lane<E extends ActionEnvelope> {
  key: string;
  queue: Job<E>[];
  running: number;
  /** The jobs taken off the queue and not yet answered. */
  active: Set<Job<E>>;
  /** Admitted and not yet recorded. */
  size: number;
  limit: number;
  rate?: { spec: string; limiter: RateLimiter; state: RateLimitState };
}

class ExecutorClosedError extends Error {
  override name = 'ExecutorClosedError';
}

interface RunResult {
  result: TriggerResult;
  attempts: number;
  errors: string[];
}

/** Where a trigger's attempts resume, and how each failed attempt's progress is kept. */
interface Progress {
  resume?: { attempts: number; errors: string[]; nextAt: number };
  /** Called after a failed attempt with the attempts so far and the next one's time (undefined: none). */
  failed?: (attempts: number, errors: string[], nextAt: number | undefined) => Promise<void>;
}

const KEPT_ERRORS = 50;
/** Completed action ids remembered per process (re-deliveries to this process are skipped). */
const COMPLETED_KEPT = 100_000;

/**
 * Runs actions: the common machinery around the plugins (Argo `triggerOne` + `DoWithRetry` +
 * rate limiter + DLQ trigger), without I/O of its own besides the two record callbacks.
 *
 * - Ordering per trigger key (`<namespace>/<sensor>/<trigger>`, the actions topic key): one
 *   action at a time unless `maxConcurrencyPerTrigger` allows more for triggers without
 *   `atLeastOnce`. Retries back off on a timer inside the trigger's lane: other triggers go on.
 * - `rateLimit` blocks (waits) before each attempt, per trigger key, in this process.
 * - `retryStrategy` (Argo `Backoff`; one attempt when absent); errors a retry cannot fix
 *   (template, parameters, a 4xx, an unsupported type) end the attempts early.
 * - When attempts run out, the `dlqTrigger` runs (with its own `retryStrategy`) and the action
 *   is recorded on `P-dlq`; every action ends with one outcome record. An action's `done`
 *   promise resolves only once those records are acknowledged: the caller commits after it.
 *   The trigger's next action may start once the target answered (records are written
 *   meanwhile), and the action counts against the bounds until its records are acknowledged.
 * - Backpressure: `submit` waits while the executor or the trigger's lane is full.
 */
export class TriggerExecutor<E extends ActionEnvelope = ActionEnvelope> {
  private readonly lanes = new Map<string, Lane<E>>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly jobs = new Map<string, { job: Job<E>; lane: Lane<E> }>();
  /**
   * Action ids whose records this process wrote (acknowledged), most recent last: a re-delivery
   * to this process (offsets not yet committed when its group rebalanced, e.g. after a broker
   * restart) is skipped instead of calling the target again.
   */
  private readonly completed = new Set<string>();
  private buffered = 0;
  private waiters: (() => void)[] = [];
  private readonly abort = new AbortController();
  private readonly maxBuffered: number;
  private readonly maxPerTrigger: number;
  private readonly concurrency: number;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(private readonly options: TriggerExecutorOptions<E>) {
    this.maxBuffered = options.maxBuffered ?? 10_000;
    this.maxPerTrigger = options.maxBufferedPerTrigger ?? 1_000;
    this.concurrency = Math.max(1, options.maxConcurrencyPerTrigger ?? 1);
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  /** Actions admitted and not yet recorded. */
  get size(): number {
    return this.buffered;
  }

  /**
   * Admits an action; waits while the executor or its trigger's lane is full. Resolves with
   * `done`, a promise that settles once the action's outcome (and dead letter) are recorded. The same
   * action id submitted again while in flight (a re-delivery) joins the running one. `parked`
   * tells whether the action waits by design (backoff, rate limit, or queued behind actions of
   * its trigger that all do): progress, not a stall.
   */
  async submit(envelope: E): Promise<{ done: Promise<void>; parked: () => boolean }> {
    const { action } = envelope;
    const parked = (): boolean => this.parked(action.actionId);
    if (this.completed.has(action.actionId)) {
      this.options.logger.debug(
        'action already recorded by this process; skipping its re-delivery',
        {
          actionId: action.actionId,
        },
      );
      return { done: Promise.resolve(), parked };
    }
    const running = this.inFlight.get(action.actionId);
    if (running) return { done: running, parked };
    const key = triggerKey(action.namespace, action.sensor, action.trigger.template.name);
    let lane = this.lanes.get(key);
    if (!lane)
      this.lanes.set(
        key,
        (lane = { key, queue: [], running: 0, active: new Set(), size: 0, limit: 1 }),
      );
    while (this.buffered >= this.maxBuffered || lane.size >= this.maxPerTrigger) {
      if (this.abort.signal.aborted) throw new ExecutorClosedError('trigger executor is shut down');
      await new Promise<void>((r) => this.waiters.push(r));
    }
    if (this.abort.signal.aborted) throw new ExecutorClosedError('trigger executor is shut down');
    const again = this.inFlight.get(action.actionId);
    if (again) return { done: again, parked };
    lane.limit = action.trigger.atLeastOnce ? 1 : this.concurrency;
    let job!: Job<E>;
    const done = new Promise<void>(
      (resolve, reject) =>
        (job = { envelope, action, resolve, reject, started: false, waiting: false }),
    );
    done.catch(() => undefined);
    this.inFlight.set(action.actionId, done);
    this.jobs.set(action.actionId, { job, lane });
    lane.queue.push(job);
    lane.size++;
    this.buffered++;
    this.pump(lane);
    return { done, parked };
  }

  private remember(actionId: string): void {
    this.completed.add(actionId);
    if (this.completed.size > COMPLETED_KEPT)
      this.completed.delete(this.completed.values().next().value!);
  }

  private parked(actionId: string): boolean {
    const entry = this.jobs.get(actionId);
    if (!entry) return false;
    const { job, lane } = entry;
    if (job.started) return job.waiting;
    return lane.active.size > 0 && [...lane.active].every((j) => j.waiting);
  }

  private pump(lane: Lane<E>): void {
    while (lane.running < lane.limit && lane.queue.length > 0) {
      const job = lane.queue.shift()!;
      lane.running++;
      job.started = true;
      lane.active.add(job);
      const finished = (): void => {
        lane.size--;
        this.buffered--;
        this.inFlight.delete(job.action.actionId);
        this.jobs.delete(job.action.actionId);
        const waiters = this.waiters.splice(0);
        for (const w of waiters) w();
      };
      // The lane's slot is released once the target answered; the records are written after
      // (in order of completion), so a trigger's pace is not bound to the bus's latency.
      this.run(job, lane).then(
        ({ recorded }) => {
          lane.running--;
          lane.active.delete(job);
          this.pump(lane);
          recorded
            .then(() => {
              this.remember(job.action.actionId);
              job.resolve();
            }, job.reject)
            .finally(finished);
        },
        (err: Error) => {
          lane.running--;
          lane.active.delete(job);
          job.reject(err);
          finished();
          this.pump(lane);
        },
      );
    }
  }

  private async run(job: Job<E>, lane: Lane<E>): Promise<{ recorded: Promise<void> }> {
    let recorded: Promise<void> = Promise.resolve();
    if (this.options.attemptLog?.load(job.envelope)?.phase === 'done') {
      // Its last records were written with this entry, in one transaction, before a restart
      // re-delivered it: nothing is run or recorded again.
      this.options.logger.info('action already recorded; skipping its re-delivery', {
        actionId: job.action.actionId,
      });
      return { recorded };
    }
    const execute = async (): Promise<ActionOutcome> => {
      const r = await this.execute(job, lane);
      recorded = r.recorded;
      return r.outcome;
    };
    await (this.options.aroundAction
      ? this.options.aroundAction(job.envelope, execute)
      : execute());
    return { recorded };
  }

  private async execute(
    job: Job<E>,
    lane: Lane<E>,
  ): Promise<{ outcome: ActionOutcome; recorded: Promise<void> }> {
    const { action } = job;
    const log = this.options.logger.child({ actionId: action.actionId, trigger: lane.key });
    const started = this.now();
    const attemptLog = this.options.attemptLog;
    const saved = attemptLog?.load(job.envelope);
    /** Whether the action has entries in the attempt log: its last records then go with a `done` entry. */
    let logged = saved !== undefined;
    const save = async (entry: Omit<AttemptEntry, 'v'>): Promise<void> => {
      if (!attemptLog) return;
      logged = true;
      const kept = { ...entry, errors: entry.errors.slice(-KEPT_ERRORS) };
      await this.durably('attempt', log, () => attemptLog.save(job.envelope, { v: 1, ...kept }));
    };
    let main: RunResult;
    if (saved?.phase === 'dlq' && saved.main) {
      const m = saved.main;
      main = {
        result: { ok: false, error: m.error, retryable: false },
        attempts: m.attempts,
        errors: m.errors,
      };
    } else {
      main = await this.runTrigger(action.trigger, action, action.actionId, log, lane, job, {
        ...(saved?.phase === 'trigger' ? { resume: saved } : {}),
        failed: (attempts, errors, nextAt) =>
          nextAt === undefined
            ? Promise.resolve()
            : save({ phase: 'trigger', attempts, errors, nextAt }),
      });
    }
    let status: ActionStatus = 'succeeded';
    let detail = main.result.ok ? main.result.detail : main.result.error;
    let record: DeadLetterRecord | undefined;
    if (!main.result.ok) {
      let dlq: DeadLetterRecord['dlqTrigger'];
      if (main.result.unsupported) status = 'unsupported';
      else if (action.trigger.dlqTrigger) {
        const d = action.trigger.dlqTrigger;
        const mainEnd = {
          attempts: main.attempts,
          errors: main.errors.slice(-KEPT_ERRORS),
          error: main.result.error,
        };
        // A restart from here on resumes with the dlqTrigger, not the trigger's attempts.
        if (logged && saved?.phase !== 'dlq')
          await save({ phase: 'dlq', attempts: 0, errors: [], nextAt: this.now(), main: mainEnd });
        const r = await this.runTrigger(
          d,
          action,
          `${action.actionId}-dlq`,
          log.child({ dlqTrigger: d.template?.name }),
          undefined,
          job,
          {
            ...(saved?.phase === 'dlq' ? { resume: saved } : {}),
            failed: (attempts, errors, nextAt) =>
              nextAt === undefined
                ? Promise.resolve()
                : save({ phase: 'dlq', attempts, errors, nextAt, main: mainEnd }),
          },
        );
        dlq = {
          trigger: d.template?.name ?? '',
          ok: r.result.ok,
          detail: r.result.ok ? r.result.detail : r.result.error,
          attempts: r.attempts,
        };
        status = 'dead-lettered';
        detail = `${detail}; dlqTrigger ${dlq.trigger} ${dlq.ok ? 'succeeded' : 'failed'}: ${dlq.detail}`;
      } else status = 'failed';
      record = {
        v: 1,
        action,
        status,
        errors: main.errors,
        ...(dlq ? { dlqTrigger: dlq } : {}),
        at: new Date(this.now()).toISOString(),
      };
    }
    const outcome: ActionOutcome = {
      v: 1,
      kind: 'action',
      actionId: action.actionId,
      namespace: action.namespace,
      sensor: action.sensor,
      trigger: action.trigger.template.name,
      at: new Date(this.now()).toISOString(),
      status,
      attempts: main.attempts,
      detail,
    };
    log[status === 'succeeded' ? 'info' : 'warn'](`action ${status}`, {
      detail,
      attempts: main.attempts,
      ms: this.now() - started,
    });
    const recorded = (async () => {
      if (logged && attemptLog) {
        const entry: AttemptEntry = {
          v: 1,
          phase: 'done',
          attempts: main.attempts,
          errors: [],
          nextAt: this.now(),
          status,
        };
        return this.durably('outcome', log, () =>
          attemptLog.finish(job.envelope, outcome, record, entry),
        );
      }
      if (record)
        await this.durably('dead letter', log, () =>
          this.options.recordDeadLetter(record, job.envelope),
        );
      await this.durably('outcome', log, () => this.options.recordOutcome(outcome, job.envelope));
    })();
    recorded.catch(() => undefined);
    return { outcome, recorded };
  }

  /** Retries a record until the bus acknowledges it (outages are transient) or the executor closes. */
  private async durably(what: string, log: Logger, send: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const delay = cappedDoubling(100, 5_000, attempt);
      try {
        return await send();
      } catch (err) {
        if (this.abort.signal.aborted)
          throw new ExecutorClosedError(`shut down before the ${what} was recorded`);
        log.warn(`recording the ${what} failed; retrying`, { error: err, delayMs: delay });
        await this.sleep(delay);
      }
    }
  }

  /** One trigger with its retryStrategy (and rate limit, for the lane's own trigger). */
  private async runTrigger(
    trigger: Trigger,
    action: ActionRecord,
    actionId: string,
    log: Logger,
    lane: Lane<E> | undefined,
    job?: Job<E>,
    progress: Progress = {},
  ): Promise<RunResult> {
    let backoff: Backoff;
    try {
      backoff = trigger.retryStrategy ? parseBackoff(trigger.retryStrategy) : NO_RETRY_BACKOFF;
    } catch (err) {
      const error = `retryStrategy: ${(err as Error).message}`;
      return { result: { ok: false, error, retryable: false }, attempts: 0, errors: [error] };
    }
    const errors: string[] = [...(progress.resume?.errors ?? [])];
    const first = progress.resume?.attempts ?? 0;
    if (progress.resume) {
      log.info('resuming retries', { attempts: first, nextAt: progress.resume.nextAt });
      const wait = progress.resume.nextAt - this.now();
      if (wait > 0) await this.sleep(wait, job);
    }
    for (let attempt = first; ; attempt++) {
      if (lane && trigger.rateLimit?.requestsPerUnit) await this.rateLimit(lane, trigger, job);
      const result = await this.attempt(trigger, action, actionId, log);
      // An attempt cut short by shutdown says nothing about the target: record nothing.
      if (this.abort.signal.aborted) throw new ExecutorClosedError('trigger executor is shut down');
      if (result.ok) return { result, attempts: attempt + 1, errors };
      errors.push(result.error);
      const delay = result.retryable ? nextDelay(backoff, attempt, this.random) : undefined;
      await progress.failed?.(
        attempt + 1,
        errors,
        delay === undefined ? undefined : this.now() + delay,
      );
      if (delay === undefined) return { result, attempts: attempt + 1, errors };
      log.info('attempt failed; retrying', {
        attempt: attempt + 1,
        error: result.error,
        delayMs: Math.round(delay),
      });
      await this.sleep(delay, job);
    }
  }

  private async rateLimit(lane: Lane<E>, trigger: Trigger, job?: Job<E>): Promise<void> {
    const spec = JSON.stringify(trigger.rateLimit);
    if (lane.rate?.spec !== spec) {
      try {
        lane.rate = {
          spec,
          limiter: createRateLimiter({
            unit: trigger.rateLimit!.unit ?? 'Second',
            requestsPerUnit: trigger.rateLimit!.requestsPerUnit!,
          }),
          state: initialRateLimitState(),
        };
      } catch {
        lane.rate = undefined;
        return; // validation rejects bad limits; never block on one
      }
    }
    const r = take(lane.rate.limiter, lane.rate.state, this.now());
    lane.rate.state = r.state;
    if (r.waitMs > 0) await this.sleep(r.waitMs, job);
  }

  /** One attempt: trigger-level parameters, then the type's plugin. Never throws. */
  private async attempt(
    trigger: Trigger,
    action: ActionRecord,
    actionId: string,
    log: Logger,
  ): Promise<TriggerResult> {
    const template = trigger.template;
    const type = template
      ? TRIGGER_TYPES.find((t) => template[t] !== undefined && template[t] !== null)
      : undefined;
    if (!type)
      return { ok: false, error: 'the trigger template names no trigger type', retryable: false };
    let resolved: Record<string, unknown>;
    try {
      resolved = applyParameters(
        template,
        trigger.parameters,
        action.events as EventsByDependency,
      ) as Record<string, unknown>;
    } catch (err) {
      if (err instanceof ParameterError)
        return { ok: false, error: `parameters: ${err.message}`, retryable: false };
      return { ok: false, error: `parameters: ${(err as Error).message}`, retryable: false };
    }
    const plugin = this.options.plugins[type] as TriggerPlugin<unknown>;
    try {
      return await plugin.execute(resolved[type], trigger, action.events, {
        namespace: action.namespace,
        sensorName: action.sensor,
        triggerName: template.name,
        actionId,
        logger: log,
        secrets: this.options.secrets,
        now: () => new Date(this.now()),
        signal: this.abort.signal,
        ...(action.runAs ? { runAs: action.runAs } : {}),
      });
    } catch (err) {
      return {
        ok: false,
        error: `${type} trigger failed: ${(err as Error).message}`,
        retryable: true,
      };
    }
  }

  /** Sleeps; the job (if any) counts as waiting by design meanwhile. */
  private async sleep(ms: number, job?: Job<E>): Promise<void> {
    if (!job) return this.nap(ms);
    job.waiting = true;
    try {
      await this.nap(ms);
    } finally {
      job.waiting = false;
    }
  }

  private nap(ms: number): Promise<void> {
    const signal = this.abort.signal;
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new ExecutorClosedError('trigger executor is shut down'));
      const onAbort = (): void => {
        clearTimeout(t);
        reject(new ExecutorClosedError('trigger executor is shut down'));
      };
      const t = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Stops: waits and in-flight I/O are aborted, and actions not yet recorded reject (their
   * offsets stay uncommitted, so they run again elsewhere with the same idempotency key).
   */
  async close(): Promise<void> {
    this.abort.abort();
    for (const w of this.waiters.splice(0)) w();
    for (const lane of this.lanes.values())
      for (const job of lane.queue.splice(0))
        job.reject(new ExecutorClosedError('trigger executor is shut down'));
  }
}
