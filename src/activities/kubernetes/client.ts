import https from 'node:https';
import tls from 'node:tls';
import { ApiException, CoreV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy, type RequestContext } from '@kubernetes/client-node';
import type { CustomObject } from './resources.js';
import { FIELD_MANAGER } from './resources.js';
import { createSharedWatches, type SharedWatches } from './shared-watches.js';

// The Kubernetes clients the activities need, built once per worker from a kubeconfig: the local
// stack's file in development, a mounted service account in production.

export interface KubeClients {
  objects: KubernetesObjectApi;
  core: CoreV1Api;
  /** The open watches the waits share; stopped with the worker. */
  watches: SharedWatches;
}

export function createKubeClients(kubeConfig: KubeConfig): KubeClients {
  const objects = KubernetesObjectApi.makeApiClient(kubeConfig);
  return { objects, core: kubeConfig.makeApiClient(CoreV1Api), watches: createSharedWatches(kubeConfig, objects) };
}

type Credentials = Pick<https.AgentOptions, 'ca' | 'cert' | 'key' | 'pfx' | 'passphrase'>;

/** client-node reads each credential afresh per request (a Buffer, from a file or the kubeconfig). */
function sameValue(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  return a === b || ((a === undefined || a === null) && (b === undefined || b === null));
}

const sameCredentials = (a: Credentials, b: Credentials): boolean =>
  (['ca', 'cert', 'key', 'pfx', 'passphrase'] as const).every((field) => sameValue(a[field], b[field]));

/**
 * client-node makes a new https.Agent for every request and watch: a TLS context built from the
 * CA and client key each time, a new connection and a full handshake, no reuse. At fleet scale
 * that was the largest share of the worker's main thread (BENCHMARKS.md). This config hands
 * every request one keep-alive agent with one TLS context, made again only when the credentials
 * change (a rotated client certificate). Proxies and plain HTTP keep client-node's own agents.
 */
export class KeepAliveKubeConfig extends KubeConfig {
  private shared: { credentials: Credentials; agent: https.Agent } | undefined;

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const made = context.getAgent();
    if (made) context.setAgent(this.sharedAgent(made));
  }

  // Watches and other fetch-based calls take this path.
  override async applyToHTTPSOptions(options: https.RequestOptions): Promise<void> {
    await super.applyToHTTPSOptions(options);
    if (options.agent instanceof https.Agent) options.agent = this.sharedAgent(options.agent);
  }

  private sharedAgent<A extends object>(made: A): A | https.Agent {
    if (!(made instanceof https.Agent) || made.constructor !== https.Agent) return made;
    const { ca, cert, key, pfx, passphrase, servername, rejectUnauthorized } = (made as https.Agent).options;
    const credentials: Credentials = { ca, cert, key, pfx, passphrase };
    if (!this.shared || !sameCredentials(this.shared.credentials, credentials)) {
      const secureContext = tls.createSecureContext(credentials);
      this.shared = { credentials, agent: new https.Agent({ keepAlive: true, secureContext, servername, ...(rejectUnauthorized === undefined ? {} : { rejectUnauthorized }) }) };
    }
    return this.shared.agent;
  }
}

export function loadKubeConfig(path?: string): KubeConfig {
  const kubeConfig = new KeepAliveKubeConfig();
  if (path) kubeConfig.loadFromFile(path);
  else kubeConfig.loadFromDefault();
  return kubeConfig;
}

export const isStatus = (error: unknown, code: number): boolean => error instanceof ApiException && error.code === code;

/** The API server's own words for a refused request (its Status message), else the error's. */
export function statusMessage(error: unknown): string {
  if (error instanceof ApiException) {
    const body: unknown = error.body;
    try {
      const status = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: unknown } | null;
      if (typeof status?.message === 'string') return status.message;
    } catch {
      // not a Status: the exception's own message below
    }
  }
  return error instanceof Error ? error.message : String(error);
}

/** Reads an object, or undefined when it does not exist. */
export async function readOrUndefined(clients: KubeClients, header: CustomObject): Promise<CustomObject | undefined> {
  try {
    return await clients.objects.read(header as Parameters<KubernetesObjectApi['read']>[0]);
  } catch (error) {
    if (isStatus(error, 404)) return undefined;
    throw error;
  }
}

/** Server-side apply as claimflow: the fields we own are ours; other managers keep theirs. */
export const serverSideApply = (clients: KubeClients, object: CustomObject): Promise<CustomObject> =>
  clients.objects.patch(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
