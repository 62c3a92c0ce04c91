import type { FieldIssue } from './errors.js';

// Strings the read model cannot store: PostgreSQL's jsonb refuses NUL, and a lone UTF-16
// surrogate is not Unicode at all. Refused at the door, so no event carrying one is ever recorded
// (a projection could never write it).

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');
const unstorable = (text: string): boolean => text.includes('\0') || LONE_SURROGATE.test(text);
const printable = (text: string): string => text.replaceAll('\0', '?').replace(LONE_SURROGATES, '?');

const MAX_ISSUES = 20;

/** Where a parsed JSON value holds such a string (as a key or a value). Iterative: bodies may nest deeply. */
export function unstorableStrings(root: unknown): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const stack: { value: unknown; path: string }[] = [{ value: root, path: '' }];
  const join = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);
  while (stack.length > 0 && issues.length < MAX_ISSUES) {
    const { value, path } = stack.pop()!;
    if (typeof value === 'string') {
      if (unstorable(value)) issues.push({ path, message: 'must not contain NUL characters or unpaired surrogates' });
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => stack.push({ value: item, path: join(path, String(index)) }));
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        if (unstorable(key)) issues.push({ path: join(path, printable(key)), message: 'field names must not contain NUL characters or unpaired surrogates' });
        stack.push({ value: item, path: join(path, key) });
      }
    }
  }
  return issues;
}
