import type { FastifyRequest } from 'fastify';
import { forbidden, unauthorized } from '../errors.js';
import type { Principal, TokenStore } from './tokens.js';

// `Authorization: Bearer <token>` on every /v1 route. The tenant comes from the token only: a
// request can never name another tenant, so isolation does not depend on each route's care.

const principals = new WeakMap<FastifyRequest, Principal>();

const BEARER = /^Bearer\s+([\x21-\x7e]{1,512})\s*$/i;

export function authenticator(tokens: TokenStore) {
  return async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    if (!header) throw unauthorized('missing Authorization: Bearer <token>');
    const token = BEARER.exec(header)?.[1];
    if (!token) throw unauthorized('the Authorization header must be "Bearer <token>"');
    const principal = await tokens.authenticate(token);
    if (!principal) throw unauthorized('unknown or revoked token');
    principals.set(request, principal);
  };
}

/** Who is asking; only inside routes behind the authenticator. */
export function principalOf(request: FastifyRequest): Principal {
  const principal = principals.get(request);
  if (!principal) throw unauthorized('not authenticated');
  return principal;
}

/**
 * The reserved tenant of platform operators (`tsx src/api/auth/create-token.ts platform <name>`):
 * only its tokens may change fleet-wide settings, and its reads span every tenant.
 */
export const PLATFORM_TENANT = 'platform';

export const isPlatform = (request: FastifyRequest): boolean => principalOf(request).tenant === PLATFORM_TENANT;

/** Refuses (403 forbidden) anyone but a platform operator. */
export function requirePlatform(request: FastifyRequest): void {
  if (!isPlatform(request)) throw forbidden(`only platform operators (tokens of tenant "${PLATFORM_TENANT}") may do this`);
}
