// Talking to the API server: resource types, a watched cache per type (list + watch from a
// resourceVersion, re-list on 410, re-started with backoff after errors), and writes that keep that
// cache honest. Writes carry the resourceVersion they were computed from, so a write based on stale
// state fails with 409 instead of overwriting; the simulator then re-reads and tries again.
import { Agent } from 'node:https';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  Observable,
  PatchStrategy,
  makeInformer,
  setHeaderOptions,
  type ConfigurationOptions,
  type Informer,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
  type V1Secret,
} from '@kubernetes/client-node';
import { errorMessage, type Logger } from './log.js';

export const FIELD_MANAGER = 'claimflow-simulator';

export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

export const CLAIMS: ResourceType = { group: 'db.claimflow.io', version: 'v1alpha1', plural: 'postgresqlinstances', kind: 'PostgreSQLInstance' };
export const CLUSTERS: ResourceType = { group: 'stackgres.io', version: 'v1', plural: 'sgclusters', kind: 'SGCluster' };
export const DBOPS: ResourceType = { group: 'stackgres.io', version: 'v1', plural: 'sgdbops', kind: 'SGDbOps' };
export const BACKUPS: ResourceType = { group: 'stackgres.io', version: 'v1', plural: 'sgbackups', kind: 'SGBackup' };

/** Thrown when a write lost a race (409) or its object vanished: reconcile again from fresh state. */
export class Requeue extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Requeue';
  }
}

/** HTTP status of a failed API call, if it has one. */
export function statusCode(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.code === 'number') return e.code;
  if (typeof e.statusCode === 'number') return e.statusCode;
  return undefined;
}

export function nameOf(obj: KubernetesObject): string {
  return obj.metadata?.name ?? '';
}

export function namespaceOf(obj: KubernetesObject): string {
  return obj.metadata?.namespace ?? '';
}

export function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/**
 * client-node 2.0 gives every request a new https.Agent, i.e. a new TLS connection: several ms of
 * CPU per call, which dominates at a thousand claims. This middleware swaps in one keep-alive agent
 * built from the same TLS options (CA, client certificate) for the whole process.
 */
let sharedAgent: Agent | undefined;
const keepAlive: ConfigurationOptions = {
  middleware: [
    {
      pre: (ctx) => {
        const agent = ctx.getAgent();
        if (agent instanceof Agent) {
          sharedAgent ??= new Agent({ ...agent.options, keepAlive: true });
          ctx.setAgent(sharedAgent);
        }
        return new Observable(Promise.resolve(ctx));
      },
      post: (response) => new Observable(Promise.resolve(response)),
    },
  ],
  middlewareMergeStrategy: 'append',
};
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch, keepAlive);

function rvNumber(obj: KubernetesObject | undefined): number {
  const n = Number(obj?.metadata?.resourceVersion);
  return Number.isFinite(n) ? n : Number.NaN;
}

/** True if a is at least as new as b (resourceVersions of one etcd are increasing integers). */
function atLeastAsNew(a: KubernetesObject, b: KubernetesObject): boolean {
  const ra = rvNumber(a);
  const rb = rvNumber(b);
  if (Number.isNaN(ra) || Number.isNaN(rb)) return a.metadata?.resourceVersion === b.metadata?.resourceVersion;
  return ra >= rb;
}

const OVERLAY_TTL_MS = 30_000;
const RESTART_BASE_MS = 500;
const RESTART_MAX_MS = 15_000;

/**
 * The watched cache of one resource type across all namespaces, plus the objects this process
 * wrote and has not yet seen come back through the watch (so a reconcile right after a write
 * reads what it wrote, not the older cached copy).
 */
export class Store<T extends KubernetesObject> {
  private readonly informer: Informer<T> & ObjectCache<T>;
  private readonly overlay = new Map<string, { obj: T; at: number }>();
  private readonly listeners: ((obj: T, deleted: boolean) => void)[] = [];
  private stopped = false;
  private running = false;
  private failedDuringStart = false;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(
    kc: KubeConfig,
    readonly type: ResourceType,
    private readonly log: Logger,
  ) {
    const custom = kc.makeApiClient(CustomObjectsApi);
    const path = `/apis/${type.group}/${type.version}/${type.plural}`;
    const list = async (): Promise<KubernetesListObject<T>> =>
      (await custom.listCustomObjectForAllNamespaces(
        { group: type.group, version: type.version, plural: type.plural },
        keepAlive,
      )) as KubernetesListObject<T>;
    this.informer = makeInformer<T>(kc, path, list);
    this.informer.on('add', (obj) => this.onEvent(obj, false));
    this.informer.on('update', (obj) => this.onEvent(obj, false));
    this.informer.on('delete', (obj) => this.onEvent(obj, true));
    this.informer.on('error', (err: unknown) => this.onError(err));
  }

  /** Called for every add, update and delete seen through the watch (and for the initial list). */
  onChange(listener: (obj: T, deleted: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** Lists, then watches; resolves once the watch is established (retrying the list until then). */
  async start(): Promise<void> {
    this.stopped = false;
    for (let attempt = 0; !this.stopped; attempt++) {
      this.failedDuringStart = false;
      await this.informer.start();
      if (!this.failedDuringStart) {
        this.running = true;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.min(RESTART_BASE_MS * 2 ** attempt, RESTART_MAX_MS)));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.running = false;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.informer.stop();
  }

  get(namespace: string, name: string): T | undefined {
    const key = keyOf(namespace, name);
    const cached = this.informer.get(name, namespace);
    const written = this.overlay.get(key);
    if (!written) return cached;
    if (Date.now() - written.at > OVERLAY_TTL_MS) {
      this.overlay.delete(key);
      return cached;
    }
    if (!cached) return written.obj;
    return atLeastAsNew(cached, written.obj) ? cached : written.obj;
  }

  /** The watched objects (of one namespace, or all). */
  list(namespace?: string): readonly T[] {
    return this.informer.list(namespace);
  }

  remember(obj: T): void {
    this.overlay.set(keyOf(namespaceOf(obj), nameOf(obj)), { obj, at: Date.now() });
  }

  forget(namespace: string, name: string): void {
    this.overlay.delete(keyOf(namespace, name));
  }

  private onEvent(obj: T, deleted: boolean): void {
    this.failures = 0;
    const key = keyOf(namespaceOf(obj), nameOf(obj));
    const written = this.overlay.get(key);
    if (written && (deleted || atLeastAsNew(obj, written.obj))) this.overlay.delete(key);
    for (const listener of this.listeners) listener(obj, deleted);
  }

  private onError(err: unknown): void {
    if (this.stopped) return;
    this.failedDuringStart = true;
    this.failures++;
    this.log.warn({ kind: this.type.kind, err: errorMessage(err), code: statusCode(err) }, 'watch failed; re-listing and re-watching');
    if (!this.running || this.restartTimer) return;
    const delay = Math.min(RESTART_BASE_MS * 2 ** (this.failures - 1), RESTART_MAX_MS);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopped) return;
      this.informer.start().catch((e: unknown) => this.onError(e));
    }, delay);
  }
}

/** Writes to one resource type, keeping its Store up to date with what was written. */
export class Resource<T extends KubernetesObject> {
  private readonly custom: CustomObjectsApi;

  constructor(
    kc: KubeConfig,
    readonly store: Store<T>,
  ) {
    this.custom = kc.makeApiClient(CustomObjectsApi);
  }

  get type(): ResourceType {
    return this.store.type;
  }

  get(namespace: string, name: string): T | undefined {
    return this.store.get(namespace, name);
  }

  list(namespace?: string): readonly T[] {
    return this.store.list(namespace);
  }

  /** Reads from the API server (not the cache) and remembers the result. */
  async fetch(namespace: string, name: string): Promise<T | undefined> {
    const { group, version, plural } = this.type;
    try {
      const obj = (await this.custom.getNamespacedCustomObject({ group, version, namespace, plural, name }, keepAlive)) as T;
      this.store.remember(obj);
      return obj;
    } catch (err) {
      if (statusCode(err) === 404) {
        this.store.forget(namespace, name);
        return undefined;
      }
      throw err;
    }
  }

  /** Creates the object; if it already exists, returns the existing one. */
  async create(namespace: string, body: T): Promise<T> {
    const { group, version, plural } = this.type;
    try {
      const obj = (await this.custom.createNamespacedCustomObject(
        { group, version, namespace, plural, body, fieldManager: FIELD_MANAGER },
        keepAlive,
      )) as T;
      this.store.remember(obj);
      return obj;
    } catch (err) {
      if (statusCode(err) !== 409) throw err;
      const existing = await this.fetch(namespace, nameOf(body));
      if (!existing) throw new Requeue(`${this.type.kind} ${namespace}/${nameOf(body)} was deleted while being created`);
      return existing;
    }
  }

  /**
   * JSON merge patch of the object (spec or metadata). Conditional on obj's resourceVersion unless
   * conditional is false.
   */
  patch(obj: T, body: Record<string, unknown>, conditional = true): Promise<T> {
    return this.write(obj, body, false, conditional);
  }

  /**
   * JSON merge patch of the status subresource. Conditional on obj's resourceVersion unless
   * conditional is false (fine where this process is the only writer of that status and computes
   * it from what it last wrote: a concurrent metadata change elsewhere then does not matter).
   */
  patchStatus(obj: T, status: Record<string, unknown>, conditional = true): Promise<T> {
    return this.write(obj, { status }, true, conditional);
  }

  /** Deletes the object; false if it was already gone. */
  async delete(namespace: string, name: string): Promise<boolean> {
    const { group, version, plural } = this.type;
    try {
      await this.custom.deleteNamespacedCustomObject({ group, version, namespace, plural, name }, keepAlive);
      this.store.forget(namespace, name);
      return true;
    } catch (err) {
      if (statusCode(err) === 404) {
        this.store.forget(namespace, name);
        return false;
      }
      throw err;
    }
  }

  private async write(obj: T, body: Record<string, unknown>, status: boolean, conditional: boolean): Promise<T> {
    const { group, version, plural } = this.type;
    const namespace = namespaceOf(obj);
    const name = nameOf(obj);
    const request = {
      group,
      version,
      namespace,
      plural,
      name,
      body: conditional
        ? { ...body, metadata: { ...(body.metadata as object | undefined), resourceVersion: obj.metadata?.resourceVersion } }
        : body,
      fieldManager: FIELD_MANAGER,
    };
    try {
      const updated = (
        status
          ? await this.custom.patchNamespacedCustomObjectStatus(request, mergePatch)
          : await this.custom.patchNamespacedCustomObject(request, mergePatch)
      ) as T;
      this.store.remember(updated);
      return updated;
    } catch (err) {
      const code = statusCode(err);
      if (code === 409) {
        await this.fetch(namespace, name);
        throw new Requeue(`${this.type.kind} ${namespace}/${name} changed since it was read`);
      }
      if (code === 404) {
        this.store.forget(namespace, name);
        throw new Requeue(`${this.type.kind} ${namespace}/${name} is gone`);
      }
      throw err;
    }
  }
}

/** Connection Secrets (core/v1). */
export class Secrets {
  private readonly core: CoreV1Api;

  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  /** Creates the Secret unless one of that name exists; true if created. */
  async createIfAbsent(namespace: string, body: V1Secret): Promise<boolean> {
    try {
      await this.core.createNamespacedSecret({ namespace, body, fieldManager: FIELD_MANAGER }, keepAlive);
      return true;
    } catch (err) {
      if (statusCode(err) === 409) return false;
      throw err;
    }
  }

  async read(namespace: string, name: string): Promise<V1Secret | undefined> {
    try {
      return await this.core.readNamespacedSecret({ namespace, name }, keepAlive);
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  }

  async delete(namespace: string, name: string): Promise<void> {
    try {
      await this.core.deleteNamespacedSecret({ namespace, name }, keepAlive);
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
    }
  }
}

export function loadKubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}
