// A keyed work queue, as in Kubernetes controllers: a key waits at most once in the queue, is never
// handled twice at the same time (a key changed while being handled is handled again right after),
// failures are retried with per-key backoff, and a handler can ask to see a key again at a given
// time (one timer per key, the earliest wins). No polling: work comes from watch events and timers.
import { Requeue } from './kube.js';
import { errorMessage, type Logger } from './log.js';

export type Handler = (key: string) => Promise<void>;

const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 10_000;
const REQUEUE_MS = 20;
/** Longer waits (e.g. a runAt far ahead) wake up early and reschedule: setTimeout takes at most 2^31-1 ms. */
const MAX_TIMER_MS = 6 * 60 * 60 * 1000;

export class WorkQueue {
  private readonly pending: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private readonly idleWaiters: (() => void)[] = [];
  private stopped = false;
  private started = false;

  constructor(
    private readonly handle: Handler,
    private readonly concurrency: number,
    private readonly log: Logger,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.pending.push(key);
    this.pump();
  }

  /** Handle key again in ms (now if ms <= 0); an earlier pending timer for the key wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    ms = Math.min(ms, MAX_TIMER_MS);
    const at = Date.now() + ms;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    this.timers.set(key, { at, timer });
  }

  /** Starts handling keys (keys added before are kept until then: the caches must be synced first). */
  start(): void {
    this.started = true;
    this.pump();
  }

  get size(): number {
    return this.pending.length + this.active.size;
  }

  /** Stops taking work, drops timers, and waits (up to timeoutMs) for handlers in flight. */
  async shutdown(timeoutMs: number): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.pending.length = 0;
    this.queued.clear();
    if (this.active.size === 0) return;
    await Promise.race([
      new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
      new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
    ]);
  }

  private pump(): void {
    while (this.started && !this.stopped && this.active.size < this.concurrency && this.pending.length > 0) {
      const key = this.pending.shift() as string;
      this.queued.delete(key);
      this.active.add(key);
      void this.run(key);
    }
  }

  private async run(key: string): Promise<void> {
    try {
      await this.handle(key);
      this.failures.delete(key);
    } catch (err) {
      if (err instanceof Requeue) {
        this.log.debug({ key, reason: err.message }, 'requeue');
        this.addAfter(key, REQUEUE_MS);
      } else {
        const n = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, n);
        const delay = Math.min(RETRY_BASE_MS * 2 ** (n - 1), RETRY_MAX_MS);
        this.log.warn({ key, err: errorMessage(err), attempt: n, retryInMs: delay }, 'reconcile failed; will retry');
        this.addAfter(key, delay);
      }
    } finally {
      this.active.delete(key);
      if (this.dirty.delete(key)) this.add(key);
      if (this.stopped && this.active.size === 0) {
        for (const resolve of this.idleWaiters.splice(0)) resolve();
      }
      this.pump();
    }
  }
}
