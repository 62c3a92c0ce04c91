import {
  ApplicationFailure, ServiceError, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError, isGrpcServiceError,
} from '@temporalio/client';
import type { FastifyError } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';

// One error shape for every failure, with codes clients can switch on:
//   { "error": { "code": "busy", "message": "...", "fields": [{ "path": "size", "message": "..." }], "requestId": "..." } }
// Anything a client sent gets a 4xx; a dependency that is down gets 503 with Retry-After; only our
// own bugs are 500.

export const ERROR_CODES = [
  'invalid_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'method_not_allowed',
  'payload_too_large',
  'unsupported_media_type',
  'busy',
  'deletion_protected',
  'already_exists',
  'downgrade',
  'unknown_version',
  'same_version',
  'invalid_transition',
  'not_ready',
  'backup_limit',
  'instance_not_running',
  'idempotency_key_reused',
  'unavailable',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const FieldIssue = z.object({ path: z.string(), message: z.string() });
export type FieldIssue = z.infer<typeof FieldIssue>;

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES),
      message: z.string(),
      fields: z.array(FieldIssue).optional(),
      requestId: z.string(),
    }),
  })
  .meta({ id: 'ErrorResponse' });
export type ErrorBody = z.infer<typeof ErrorBody>;

export const RETRY_AFTER_SECONDS = 5;

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
    readonly fields?: FieldIssue[],
    /** Sent as Retry-After: the request is fine and will succeed once something finishes. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(requestId: string): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.fields?.length ? { fields: this.fields } : {}), requestId } };
  }
}

export const invalidRequest = (message: string, fields?: FieldIssue[]) => new ApiError(400, 'invalid_request', message, fields);
export const notFound = (message: string) => new ApiError(404, 'not_found', message);
export const unauthorized = (message: string) => new ApiError(401, 'unauthorized', message);
export const forbidden = (message: string) => new ApiError(403, 'forbidden', message);
export const unavailable = (message: string) => new ApiError(503, 'unavailable', message, undefined, RETRY_AFTER_SECONDS);

/** Where a rejection code from the domain (the workflow's update validators) lands in HTTP. */
const REJECTIONS: Record<string, { status: number; code: ErrorCode }> = {
  busy: { status: 409, code: 'busy' },
  deletion_protected: { status: 409, code: 'deletion_protected' },
  // A deleted instance whose workflow has not quite ended yet: the same answer as once it has.
  gone: { status: 404, code: 'not_found' },
  downgrade: { status: 422, code: 'downgrade' },
  unknown_version: { status: 422, code: 'unknown_version' },
  same_version: { status: 422, code: 'same_version' },
  invalid_transition: { status: 422, code: 'invalid_transition' },
  not_ready: { status: 422, code: 'not_ready' },
  unknown_backup: { status: 404, code: 'not_found' },
  backup_limit: { status: 409, code: 'backup_limit' },
  invalid_command: { status: 400, code: 'invalid_request' },
};

export function rejection(code: string, message: string): ApiError | undefined {
  const mapped = REJECTIONS[code];
  return mapped ? new ApiError(mapped.status, mapped.code, message) : undefined;
}

// gRPC status codes (from @grpc/grpc-js, not a direct dependency).
const GRPC_CANCELLED = 1;
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_RESOURCE_EXHAUSTED = 8;
const GRPC_UNAVAILABLE = 14;
const UNAVAILABLE_GRPC_CODES = new Set([GRPC_CANCELLED, GRPC_DEADLINE_EXCEEDED, GRPC_RESOURCE_EXHAUSTED, GRPC_UNAVAILABLE]);

const NETWORK_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED']);
const PG_CONNECTION_MESSAGES = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /connection error/i,
  /Connection ended unexpectedly/i,
  /Cannot use a pool after calling end/i,
  /the database system is (starting up|shutting down)/i,
];

function* causes(error: unknown): Generator<unknown> {
  const seen = new Set<unknown>();
  let current = error;
  while (current && !seen.has(current)) {
    seen.add(current);
    yield current;
    if (current instanceof AggregateError) for (const inner of current.errors) yield* causes(inner);
    current = (current as { cause?: unknown }).cause;
  }
}

/** True when the error says a dependency (Temporal or PostgreSQL) cannot be reached right now. */
export function isUnavailable(error: unknown): boolean {
  for (const e of causes(error)) {
    if (e instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return true;
    if (isGrpcServiceError(e) && UNAVAILABLE_GRPC_CODES.has(e.code)) return true;
    if (typeof e !== 'object' || e === null) continue;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (NETWORK_ERRNOS.has(code)) return true;
      // PostgreSQL SQLSTATEs: connection exceptions, operator intervention, too many connections.
      if (/^08/.test(code) || /^57P0[1-4]$/.test(code) || code === '53300' || code === '57014') return true;
    }
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && PG_CONNECTION_MESSAGES.some((pattern) => pattern.test(message))) return true;
  }
  return false;
}

/** Zod issues as field paths; unknown keys become one issue each, named by their own path. */
export function fieldsFromIssues(issues: readonly z.core.$ZodIssue[], prefix = ''): FieldIssue[] {
  const join = (path: readonly PropertyKey[]) => [prefix, ...path.map(String)].filter((part) => part !== '').join('.');
  return issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: join([...issue.path, key]), message: 'unknown field' }))
      : [{ path: join(issue.path), message: issue.message }],
  );
}

const CONTEXT_PREFIX: Record<string, string> = { body: '', querystring: 'query', params: 'params', headers: 'headers' };

function fromFastifyValidation(error: FastifyError & { validation: { instancePath: string; message?: string; keyword: string; params: Record<string, unknown> }[] }): ApiError {
  const prefix = CONTEXT_PREFIX[error.validationContext ?? 'body'] ?? '';
  const fields = error.validation.flatMap((issue) => {
    const path = issue.instancePath.split('/').filter((part) => part !== '');
    const keys = issue.keyword === 'unrecognized_keys' && Array.isArray(issue.params.keys) ? (issue.params.keys as unknown[]).map(String) : undefined;
    const join = (parts: string[]) => [prefix, ...parts].filter((part) => part !== '').join('.');
    return keys ? keys.map((key) => ({ path: join([...path, key]), message: 'unknown field' })) : [{ path: join(path), message: issue.message ?? 'invalid' }];
  });
  const where = error.validationContext === 'querystring' ? 'query string' : (error.validationContext ?? 'body');
  return invalidRequest(`the request ${where} is invalid`, fields);
}

/** Every error, whatever threw it, as the one shape. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) return fromFastifyValidation(error);
  if (error instanceof z.ZodError) return invalidRequest('the request is invalid', fieldsFromIssues(error.issues));

  if (error instanceof WorkflowUpdateFailedError) {
    const cause = error.cause;
    if (cause instanceof ApplicationFailure && cause.type) {
      const mapped = rejection(cause.type, cause.message);
      if (mapped) return mapped;
    }
    return new ApiError(500, 'internal', `the command failed: ${cause?.message ?? error.message}`);
  }
  if (error instanceof WorkflowNotFoundError) return notFound('no such instance');
  if (error instanceof WorkflowExecutionAlreadyStartedError) return new ApiError(409, 'already_exists', 'an instance with this name already exists');
  if (isUnavailable(error)) return unavailable('a backing service is unavailable; retry later');
  if (error instanceof ServiceError) return new ApiError(500, 'internal', 'unexpected error from Temporal');

  const fastifyError = error as Partial<FastifyError>;
  const status = typeof fastifyError.statusCode === 'number' ? fastifyError.statusCode : 500;
  if (status === 413) return new ApiError(413, 'payload_too_large', 'the request body is too large');
  if (status === 415) return new ApiError(415, 'unsupported_media_type', fastifyError.message ?? 'unsupported media type');
  if (status === 404) return notFound(fastifyError.message ?? 'not found');
  if (status === 405) return new ApiError(405, 'method_not_allowed', fastifyError.message ?? 'method not allowed');
  if (status >= 400 && status < 500) return invalidRequest(fastifyError.message ?? 'the request is invalid');
  if (status === 503) return unavailable(fastifyError.message ?? 'unavailable');
  return new ApiError(500, 'internal', 'internal error');
}
