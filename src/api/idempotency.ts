import { createHash } from 'node:crypto';
import type { Pool } from 'pg';

// Idempotency-Key: the first successful answer to a key is stored and replayed to every repeat;
// a repeat that asks for something else is refused. The command's request id (the operation id)
// is derived from tenant and key, so even repeats that race the first one (before anything is
// stored) collapse on Temporal: one workflow id, one update id, and the workflow's own record of
// request ids it has handled.

export interface StoredAnswer {
  requestHash: string;
  statusCode: number;
  body: unknown;
  headers: Record<string, string>;
}

/** JSON with object keys sorted, so two equal requests hash alike whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export const requestHash = (request: unknown): string => sha256(canonicalJson(request));

/** A UUID-shaped id (version 8: custom) that is a pure function of its parts. */
export function deterministicId(...parts: string[]): string {
  const hex = sha256(parts.map((part) => `${part.length}:${part}`).join('|')).slice(0, 32).split('');
  hex[12] = '8';
  hex[16] = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export class IdempotencyStore {
  constructor(private readonly pool: Pool) {}

  async find(tenant: string, key: string): Promise<StoredAnswer | undefined> {
    const { rows } = await this.pool.query<{ request_hash: string; status_code: number; response: { body: unknown; headers?: Record<string, string> } }>(
      'SELECT request_hash, status_code, response FROM idempotency_keys WHERE tenant = $1 AND key = $2',
      [tenant, key],
    );
    const row = rows[0];
    return row ? { requestHash: row.request_hash, statusCode: row.status_code, body: row.response.body, headers: row.response.headers ?? {} } : undefined;
  }

  /** Stores the answer unless one is stored already; returns the one that is stored now. */
  async save(tenant: string, key: string, answer: StoredAnswer): Promise<StoredAnswer> {
    const inserted = await this.pool.query(
      `INSERT INTO idempotency_keys (tenant, key, request_hash, status_code, response, created_at)
       VALUES ($1, $2, $3, $4, $5, now()) ON CONFLICT (tenant, key) DO NOTHING`,
      [tenant, key, answer.requestHash, answer.statusCode, JSON.stringify({ body: answer.body, headers: answer.headers })],
    );
    if (inserted.rowCount === 1) return answer;
    return (await this.find(tenant, key)) ?? answer;
  }
}
