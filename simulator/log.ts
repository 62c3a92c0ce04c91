// JSON lines on stdout. Never pass a secret value to the logger.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { component: 'simulator' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

/** A one-line description of an error; for a failed API call, its status code and message. */
export function errorMessage(err: unknown): string {
  if (typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'number') {
    const { code, body } = err as { code: number; body?: unknown };
    let message: string | undefined;
    if (typeof body === 'string') {
      try {
        message = (JSON.parse(body) as { message?: string }).message ?? body;
      } catch {
        message = body;
      }
    } else if (typeof body === 'object' && body !== null) {
      message = (body as { message?: string }).message;
    }
    if (message !== undefined) return `HTTP ${code}: ${message}`;
  }
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.message;
  return String(err);
}
