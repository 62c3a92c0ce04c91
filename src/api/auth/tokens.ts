import { createHash, randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import { TenantName } from '../../domain/index.js';

// Bearer tokens map to tenants. Only a token's sha256 is stored: a leaked table lets no one in,
// and a token is shown exactly once, when it is created.

export interface Principal {
  tenant: string;
  /** The token's name: commands record "tenant:<name>" as their actor. */
  tokenName: string;
}

const TOKEN_PREFIX = 'cf_';
export const TokenName = TenantName.describe('token name (a DNS label)');

export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** A new random token for `tenant`, stored hashed. Returns the token: it cannot be recovered later. */
export async function createToken(pool: Pool, tenant: string, name = 'default'): Promise<string> {
  TenantName.parse(tenant);
  TokenName.parse(name);
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  await pool.query('INSERT INTO api_tokens (token_hash, tenant, name, created_at) VALUES ($1, $2, $3, now())', [hashToken(token), tenant, name]);
  return token;
}

/** Removes every token of `tenant` named `name`; returns how many there were. */
export async function revokeTokens(pool: Pool, tenant: string, name: string): Promise<number> {
  const result = await pool.query('DELETE FROM api_tokens WHERE tenant = $1 AND name = $2', [tenant, name]);
  return result.rowCount ?? 0;
}

const CACHE_TTL_MS = 30_000;
const CACHE_MAX = 10_000;

/**
 * Looks tokens up by hash, with a short cache so a busy client does not cost a query per request.
 * A revoked token keeps working for at most CACHE_TTL_MS.
 */
export class TokenStore {
  private readonly cache = new Map<string, { principal: Principal | null; expires: number }>();

  constructor(
    private readonly pool: Pool,
    private readonly now: () => number = Date.now,
  ) {}

  async authenticate(token: string): Promise<Principal | null> {
    const hash = hashToken(token);
    const cached = this.cache.get(hash);
    if (cached && cached.expires > this.now()) return cached.principal;
    const { rows } = await this.pool.query<{ tenant: string; name: string }>('SELECT tenant, name FROM api_tokens WHERE token_hash = $1', [hash]);
    const row = rows[0];
    const principal = row ? { tenant: row.tenant, tokenName: row.name } : null;
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    // Unknown tokens are cached too (briefly), so guessing costs the database nothing.
    this.cache.set(hash, { principal, expires: this.now() + (principal ? CACHE_TTL_MS : CACHE_TTL_MS / 10) });
    return principal;
  }
}
