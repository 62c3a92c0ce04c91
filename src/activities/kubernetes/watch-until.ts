import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { CustomObject } from './resources.js';

// Waits for one object to reach a state by WATCHING it (no sleep loops), so a change is seen the
// moment the API server has it. Re-watches when the server closes the stream, beats a heartbeat so
// Temporal notices a dead worker, and gives up at an absolute deadline that survives retries.

export interface WatchUntilOptions<T> {
  kubeConfig: KubeConfig;
  /** Collection path, e.g. /apis/stackgres.io/v1/namespaces/ns/sgdbops */
  path: string;
  name: string;
  /** Reads the object now (undefined when it does not exist); used after each (re)watch starts. */
  read: () => Promise<CustomObject | undefined>;
  /** Returns a value when the wait is over, undefined to keep waiting. */
  test: (object: CustomObject | undefined) => T | undefined;
  deadline: number;
  signal?: AbortSignal;
  heartbeat?: (detail: string) => void;
  heartbeatEveryMs?: number;
}

export type WatchResult<T> = { done: true; value: T } | { done: false; last: CustomObject | undefined };

export function watchUntil<T>(options: WatchUntilOptions<T>): Promise<WatchResult<T>> {
  const { kubeConfig, path, name, read, test, deadline, signal, heartbeat } = options;
  return new Promise((resolve, reject) => {
    let finished = false;
    let last: CustomObject | undefined;
    let controller: AbortController | undefined;
    const timers: NodeJS.Timeout[] = [];

    const finish = (outcome: () => void) => {
      if (finished) return;
      finished = true;
      timers.forEach(clearTimeout);
      timers.forEach(clearInterval);
      controller?.abort();
      signal?.removeEventListener('abort', onAbort);
      outcome();
    };
    const observe = (object: CustomObject | undefined) => {
      last = object;
      const value = test(object);
      if (value !== undefined) finish(() => resolve({ done: true, value }));
    };
    const onAbort = () => finish(() => reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted')));

    const startWatch = async (): Promise<void> => {
      if (finished) return;
      try {
        controller = await new Watch(kubeConfig).watch(
          path,
          { fieldSelector: `metadata.name=${name}`, allowWatchBookmarks: false },
          (phase, object: CustomObject) => observe(phase === 'DELETED' ? undefined : object),
          () => {
            // The server ends watches after a while; start again unless we are done.
            if (!finished) timers.push(setTimeout(() => void startWatch(), 200));
          },
        );
        // Read after the watch is open so no change can fall between the read and the watch.
        observe(await read());
      } catch (error) {
        if (!finished) {
          heartbeat?.(`watch failed, retrying: ${(error as Error).message}`);
          timers.push(setTimeout(() => void startWatch(), 1000));
        }
      }
    };

    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort);
    timers.push(setTimeout(() => finish(() => resolve({ done: false, last })), Math.max(0, deadline - Date.now())));
    if (heartbeat) timers.push(setInterval(() => heartbeat(`watching ${name}`), options.heartbeatEveryMs ?? 5000));
    void startWatch();
  });
}
