import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LifecycleSettings } from '../workflows/messages.js';
import { principalOf } from './auth/authenticate.js';
import { ApiError, fieldsFromIssues, invalidRequest } from './errors.js';
import { deterministicId, requestHash, type IdempotencyStore, type StoredAnswer } from './idempotency.js';
import type { SubscriptionStore } from './notifications.js';
import type { ReadModel } from './readmodel.js';
import { IdempotencyKeyHeader } from './schemas.js';
import type { InstanceCommands, MaintenanceFleet } from './temporal.js';

/** What routes use: the two ports (read model, Temporal) and the API's own stores. */
export interface ApiContext {
  reads: ReadModel;
  commands: InstanceCommands;
  /** The fleet's maintenance coordinator. */
  fleet: MaintenanceFleet;
  idempotency: IdempotencyStore;
  subscriptions: SubscriptionStore;
  clock: () => Date;
  /** Passed into new instance workflows (tests shorten the timeouts). */
  lifecycleSettings?: Partial<LifecycleSettings>;
  /** How often an event stream looks for new events. */
  pollIntervalMs: number;
  /** Aborted when the app closes: ends open event streams. */
  closing: AbortSignal;
}

export interface Answer {
  statusCode: number;
  body: unknown;
  headers: Record<string, string>;
}

export interface RequestIds {
  /** The command's request id: the operation id clients see. */
  requestId: string;
}

/** The request's Idempotency-Key, if it sent one (400 if malformed). */
export function idempotencyKey(request: FastifyRequest): string | undefined {
  const raw = request.headers['idempotency-key'];
  if (raw === undefined) return undefined;
  const parsed = IdempotencyKeyHeader.safeParse(Array.isArray(raw) ? raw.join(',') : raw);
  if (!parsed.success) throw invalidRequest('the Idempotency-Key header is invalid', fieldsFromIssues(parsed.error.issues, 'headers.idempotency-key'));
  return parsed.data;
}

export const reused = () =>
  new ApiError(422, 'idempotency_key_reused', 'this Idempotency-Key was already used for a different request; use a new key for a new request');

/**
 * Runs a command at most once per Idempotency-Key. Without a key every call is a new request with
 * a random request id. With one, the request id is derived from tenant and key, the first
 * successful answer is stored and replayed, and a different request under the same key is refused.
 * Errors are not stored: a retry after one runs again, and the derived request id keeps that safe.
 */
export async function idempotent(
  ctx: ApiContext,
  request: FastifyRequest,
  execute: (ids: RequestIds) => Promise<Answer>,
): Promise<Answer> {
  const key = idempotencyKey(request);
  const { tenant } = principalOf(request);
  if (key === undefined) {
    return execute({ requestId: randomUUID() });
  }
  const hash = requestHash({
    method: request.method,
    route: request.routeOptions.url,
    params: request.params,
    query: request.query,
    body: request.body,
  });
  const replay = (stored: StoredAnswer): Answer => {
    if (stored.requestHash !== hash) throw reused();
    return { statusCode: stored.statusCode, body: stored.body, headers: { ...stored.headers, 'idempotent-replayed': 'true' } };
  };
  const stored = await ctx.idempotency.find(tenant, key);
  if (stored) return replay(stored);

  const answer = await execute({ requestId: deterministicId('request', tenant, key) });
  if (answer.statusCode >= 300) return answer;
  const kept = await ctx.idempotency.save(tenant, key, { requestHash: hash, ...answer });
  return kept.requestHash === hash && kept.body === answer.body ? answer : replay(kept);
}

export function send(reply: FastifyReply, answer: Answer): FastifyReply {
  return reply.code(answer.statusCode).headers(answer.headers).send(answer.body);
}
