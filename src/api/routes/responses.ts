import { ErrorBody } from '../errors.js';

/** Response entries for the error statuses a route can answer with (documented, and checked). */
export function errors(...statuses: number[]): Record<number, typeof ErrorBody> {
  return Object.fromEntries([400, 401, 503, ...statuses].map((status) => [status, ErrorBody]));
}

export const instancePath = (name: string): string => `/v1/instances/${encodeURIComponent(name)}`;
export const operationPath = (name: string, id: string): string => `${instancePath(name)}/operations/${encodeURIComponent(id)}`;
