import type { CustomObject } from './resources.js';
import type { WatchedCollection } from './watched-collection.js';

// Waits for one object to reach a state by WATCHING it (no sleep loops), so a change is seen the
// moment the API server has it. Beats a heartbeat so Temporal notices a dead worker, and gives up
// at an absolute deadline that survives retries.

export interface WatchUntilOptions<T> {
  /** A watch that sees this object's changes (shared by many waits, or made for this one). */
  collection: Pick<WatchedCollection, 'subscribe'>;
  namespace: string;
  name: string;
  /** Reads the object now (undefined when it does not exist); used once the watch is open. */
  read: () => Promise<CustomObject | undefined>;
  /**
   * The first look, in place of a read, once the watch is open: a create, whose answer is the
   * object's state, so that nothing needs reading back. Its failure ends the wait with that error.
   */
  first?: () => Promise<CustomObject | undefined>;
  /** Returns a value when the wait is over, undefined to keep waiting. */
  test: (object: CustomObject | undefined) => T | undefined;
  deadline: number;
  signal?: AbortSignal;
  heartbeat?: (detail: string) => void;
  heartbeatEveryMs?: number;
}

export type WatchResult<T> = { done: true; value: T } | { done: false; last: CustomObject | undefined };

export function watchUntil<T>(options: WatchUntilOptions<T>): Promise<WatchResult<T>> {
  const { collection, namespace, name, read, first, test, deadline, signal, heartbeat } = options;
  return new Promise((resolve, reject) => {
    let finished = false;
    let last: CustomObject | undefined;
    let unsubscribe = () => {};
    const timers: NodeJS.Timeout[] = [];

    const finish = (outcome: () => void) => {
      if (finished) return;
      finished = true;
      timers.forEach(clearTimeout);
      timers.forEach(clearInterval);
      unsubscribe();
      signal?.removeEventListener('abort', onAbort);
      outcome();
    };
    const observe = (object: CustomObject | undefined) => {
      if (finished) return;
      last = object;
      const value = test(object);
      if (value !== undefined) finish(() => resolve({ done: true, value }));
    };
    const onAbort = () => finish(() => reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted')));
    const lookFirst = async (): Promise<void> => {
      if (!first) return readNow();
      try {
        observe(await first());
      } catch (error) {
        finish(() => reject(error instanceof Error ? error : new Error(String(error))));
      }
    };
    const readNow = async (): Promise<void> => {
      if (finished) return;
      try {
        observe(await read());
      } catch (error) {
        // The watch still reports every change; a failed read only delays the first look.
        heartbeat?.(`read of ${name} failed, watching on: ${(error as Error).message}`);
        timers.push(setTimeout(() => void readNow(), 1000));
      }
    };

    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort);
    timers.push(setTimeout(() => finish(() => resolve({ done: false, last })), Math.max(0, deadline - Date.now())));
    if (heartbeat) timers.push(setInterval(() => heartbeat(`watching ${name}`), options.heartbeatEveryMs ?? 5000));
    const subscription = collection.subscribe(namespace, name, {
      changed: observe,
      resync: () => void readNow(),
      trouble: (message) => heartbeat?.(message),
    });
    unsubscribe = subscription.unsubscribe;
    // Look once the watch is open, so no change can fall between the look and the watch.
    subscription.open.then(() => (finished ? undefined : lookFirst())).catch(() => undefined); // rejects only once stopped
  });
}
