import type { z } from 'zod';
import { invalidRequest } from './errors.js';

// A page's cursor is the sort key of its last item, opaque to clients (base64url JSON). One that
// does not decode to the key's shape is the client's mistake, named as query.cursor.

export const encodeCursor = (position: readonly string[]): string => Buffer.from(JSON.stringify(position)).toString('base64url');

/** The sort key a cursor resumes after, in the shape its list gives it. */
export function decodeCursor<T>(cursor: string, shape: z.ZodType<T>): T {
  try {
    return shape.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw invalidRequest('the cursor is invalid', [{ path: 'query.cursor', message: 'not a cursor this API returned' }]);
  }
}

/**
 * A page of a list read with one item more than it shows: that extra item says whether a next
 * page exists, and the cursor to it is the last shown item's sort key.
 */
export function pageOf<T>(read: T[], limit: number, sortKeyOf: (item: T) => readonly string[]): { items: T[]; nextCursor: string | null } {
  const items = read.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: read.length > limit && last !== undefined ? encodeCursor(sortKeyOf(last)) : null };
}
