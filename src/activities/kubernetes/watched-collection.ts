import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { CustomObject } from './resources.js';

// One watch over a collection (a kind across all namespaces, narrowed by a selector) that any
// number of waits subscribe to by namespace and name. A watch per wait cost a new TLS connection
// each time on both ends (client-node's Watch ends by aborting, which destroys the socket): at
// fleet scale the largest piece of the worker's main thread that was ours (BENCHMARKS.md).
//
// The watch resumes from the last resource version it saw, so a reconnect loses no event. When
// the server no longer has that version (410 Gone), it starts again from a fresh list, and every
// subscriber is told to read its object again, since changes in the gap were not delivered.

export interface WatchSubscriber {
  /** The object as the watch saw it change; undefined once it is deleted. */
  changed(object: CustomObject | undefined): void;
  /** Events may have been missed: read the object again. */
  resync(): void;
  /** The watch cannot be (re)established for now; it keeps trying. */
  trouble(message: string): void;
}

export interface WatchedCollectionOptions {
  kubeConfig: KubeConfig;
  /** The collection's path, e.g. /apis/stackgres.io/v1/sgdbops (all namespaces). */
  path: string;
  /** labelSelector and/or fieldSelector, as the API server takes them. */
  selector: { labelSelector?: string; fieldSelector?: string };
  /** The collection's current resource version (a list of at most one item). */
  currentVersion: () => Promise<string>;
  /** Ends the watch when its last subscriber leaves (a watch made for one wait). */
  stopWhenUnused?: boolean;
  retryAfterMs?: number;
}

const keyOf = (namespace: string | undefined, name: string | undefined) => `${namespace ?? ''}/${name ?? ''}`;

export class WatchedCollection {
  private readonly subscribers = new Map<string, Set<WatchSubscriber>>();
  private resourceVersion: string | undefined;
  /** The watch in use (or last in use); a late end of an older one is ignored. */
  private current: AbortController | undefined;
  private established: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: WatchedCollectionOptions) {}

  /**
   * Registers a subscriber at once; `open` resolves once the watch is open, so that a read made
   * after it can miss no change: anything later reaches `changed`.
   */
  subscribe(namespace: string, name: string, subscriber: WatchSubscriber): { open: Promise<void>; unsubscribe: () => void } {
    const key = keyOf(namespace, name);
    const set = this.subscribers.get(key) ?? new Set();
    set.add(subscriber);
    this.subscribers.set(key, set);
    return { open: this.open(), unsubscribe: () => this.unsubscribe(key, subscriber) };
  }

  stop(): void {
    this.stopped = true;
    this.current?.abort();
  }

  private unsubscribe(key: string, subscriber: WatchSubscriber): void {
    const set = this.subscribers.get(key);
    set?.delete(subscriber);
    if (set?.size === 0) this.subscribers.delete(key);
    if (this.options.stopWhenUnused && this.subscribers.size === 0) this.stop();
  }

  private everySubscriber(): WatchSubscriber[] {
    return [...this.subscribers.values()].flatMap((set) => [...set]);
  }

  /** The open watch, or the one being opened; retried until it opens or the collection stops. */
  private open(): Promise<void> {
    this.established ??= this.connectUntilOpen().catch((error: unknown) => {
      this.established = undefined;
      throw error;
    });
    return this.established;
  }

  private async connectUntilOpen(): Promise<void> {
    for (;;) {
      if (this.stopped) throw new Error('the watch was stopped');
      try {
        const resync = this.resourceVersion === undefined && this.current !== undefined;
        await this.connect();
        // After a fresh list, the changes between the old watch and the new one were not seen.
        if (resync) this.everySubscriber().forEach((subscriber) => subscriber.resync());
        return;
      } catch (error) {
        const message = `watch of ${this.options.path} failed, retrying: ${(error as Error).message}`;
        this.everySubscriber().forEach((subscriber) => subscriber.trouble(message));
        await new Promise((resolve) => setTimeout(resolve, this.options.retryAfterMs ?? 1000));
      }
    }
  }

  private async connect(): Promise<void> {
    this.resourceVersion ??= await this.options.currentVersion();
    const attempt: { open: boolean; refused?: Error | null } = { open: false };
    const controller: AbortController = await new Watch(this.options.kubeConfig).watch(
      this.options.path,
      { ...this.options.selector, resourceVersion: this.resourceVersion, allowWatchBookmarks: true },
      (phase: string, object: CustomObject & { code?: number }) => this.onEvent(phase, object),
      (error: Error | null) => {
        // client-node reports a refused watch (a 4xx/5xx answer) here, before `watch` returns.
        if (!attempt.open) attempt.refused = error;
        else if (this.current === controller) this.onEnded();
      },
    );
    if ('refused' in attempt) {
      // 410 Gone as an answer rather than an event: the same, start again from a fresh list.
      if ((attempt.refused as { statusCode?: number } | null)?.statusCode === 410) this.resourceVersion = undefined;
      throw attempt.refused ?? new Error('the watch closed as it opened');
    }
    attempt.open = true;
    this.current = controller;
    if (this.stopped) controller.abort(); // stopped while it opened
  }

  private onEvent(phase: string, object: CustomObject & { code?: number }): void {
    if (phase === 'ERROR') {
      // 410 Gone: our resource version is too old; start again from a fresh list.
      if (object.code === 410) this.resourceVersion = undefined;
      return;
    }
    const version = object.metadata?.resourceVersion;
    if (version) this.resourceVersion = version;
    if (phase === 'BOOKMARK') return;
    const set = this.subscribers.get(keyOf(object.metadata?.namespace, object.metadata?.name));
    const seen = phase === 'DELETED' ? undefined : object;
    set?.forEach((subscriber) => subscriber.changed(seen));
  }

  /** The server ended the watch (its timeout, a restart) or the connection broke: reopen. */
  private onEnded(): void {
    this.established = undefined;
    if (this.stopped) return;
    this.open().catch(() => undefined); // retried inside until stopped
  }
}
