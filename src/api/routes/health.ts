import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiContext } from '../context.js';
import { RETRY_AFTER_SECONDS } from '../errors.js';

// Liveness (the process answers) and readiness (it can reach Temporal and PostgreSQL).

const CHECK_TIMEOUT_MS = 2_000;

const Readiness = z.object({
  status: z.enum(['ready', 'unavailable']),
  checks: z.object({ temporal: z.string(), postgres: z.string() }),
});

async function check(probe: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([probe(), timeout]);
    return 'ok';
  } catch (error) {
    return `unavailable: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    clearTimeout(timer);
  }
}

export const healthRoutes =
  (ctx: ApiContext): FastifyPluginCallbackZod =>
  (app, _options, done) => {
    app.get(
      '/healthz',
      { schema: { summary: 'Liveness', security: [], response: { 200: z.object({ status: z.literal('ok') }) } } },
      (_request, reply) => {
        void reply.send({ status: 'ok' as const });
      },
    );

    app.get(
      '/readyz',
      { schema: { summary: 'Readiness: Temporal and PostgreSQL answer', security: [], response: { 200: Readiness, 503: Readiness } } },
      async (_request, reply) => {
        const [temporal, postgres] = await Promise.all([check(() => ctx.commands.ping(CHECK_TIMEOUT_MS)), check(() => ctx.reads.ping())]);
        const ready = temporal === 'ok' && postgres === 'ok';
        if (!ready) reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS));
        return { status: ready ? ('ready' as const) : ('unavailable' as const), checks: { temporal, postgres } };
      },
    );

    done();
  };
