import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { reduceAll, type InstanceEvent } from '../../domain/index.js';
import { principalOf } from '../auth/authenticate.js';
import type { ApiContext } from '../context.js';
import { notFound } from '../errors.js';
import { EventList, EventsQuery, NameParams, StateAtBody, StateQuery } from '../schemas.js';
import { eventView } from '../views.js';
import { errors } from './responses.js';

// An instance's event log, as a page, as a live stream (server-sent events), and folded into the
// state it described at any moment.

const STREAM_BATCH = 500;
const KEEP_ALIVE_MS = 15_000;

function lastEventId(request: FastifyRequest): number | undefined {
  const header = request.headers['last-event-id'];
  const value = typeof header === 'string' && /^\d{1,9}$/.test(header.trim()) ? Number(header.trim()) : undefined;
  return value;
}

export const eventRoutes =
  (ctx: ApiContext): FastifyPluginCallbackZod =>
  (app, _options, done) => {
    /** Polls the read model and writes what is new until the client leaves, the instance is deleted, or the app closes. */
    async function stream(request: FastifyRequest, reply: FastifyReply, instanceId: string, after: number): Promise<void> {
      const abort = new AbortController();
      const stop = () => abort.abort();
      ctx.closing.addEventListener('abort', stop, { once: true });
      reply.raw.once('close', stop);
      reply.hijack();
      reply.raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
        'x-request-id': request.id,
      });
      const write = (text: string) => {
        if (!abort.signal.aborted) reply.raw.write(text);
        lastWrite = Date.now();
      };
      let lastWrite = Date.now();
      write(`retry: ${Math.max(1000, ctx.pollIntervalMs)}\n\n`);
      let last = after;
      try {
        while (!abort.signal.aborted) {
          let events: InstanceEvent[] = [];
          try {
            events = await ctx.reads.events(instanceId, last, STREAM_BATCH);
          } catch (error) {
            request.log.warn({ err: error }, 'event stream: reading the read model failed; retrying');
          }
          for (const event of events) {
            write(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(eventView(event))}\n\n`);
            last = event.seq;
          }
          if (events.some((event) => event.type === 'InstanceDeleted')) break;
          if (events.length === STREAM_BATCH) continue;
          if (Date.now() - lastWrite >= KEEP_ALIVE_MS) write(': keep-alive\n\n');
          await sleep(ctx.pollIntervalMs, undefined, { signal: abort.signal }).catch(() => undefined);
        }
      } finally {
        ctx.closing.removeEventListener('abort', stop);
        if (!reply.raw.writableEnded) reply.raw.end();
      }
    }

    app.get(
      '/instances/:name/events',
      {
        schema: {
          summary: "An instance's events",
          description:
            'Ordered by seq. ?after=<seq> for what follows. ?follow=true answers text/event-stream: the events, then new ones as ' +
            'they are recorded (event: <type>, id: <seq>, data: the event); the stream ends after InstanceDeleted. ' +
            'Last-Event-ID is honoured when after is not given.',
          params: NameParams,
          querystring: EventsQuery,
          response: { 200: EventList, ...errors(404) },
        },
      },
      async (request, reply) => {
        const { tenant } = principalOf(request);
        const record = await ctx.reads.findInstance(tenant, request.params.name);
        if (!record) throw notFound(`no instance ${request.params.name}`);
        const { after, limit, follow } = request.query;
        const from = after ?? lastEventId(request) ?? 0;
        if (follow) {
          await stream(request, reply, record.instanceId, from);
          return reply;
        }
        const events = await ctx.reads.events(record.instanceId, from, limit);
        return { items: events.map(eventView), lastSeq: events.at(-1)?.seq ?? from };
      },
    );

    app.get(
      '/instances/:name/state',
      {
        schema: {
          summary: 'The state of an instance at a moment',
          description: 'Folds the events recorded up to ?at= with the same reducer the workflow uses.',
          params: NameParams,
          querystring: StateQuery,
          response: { 200: StateAtBody, ...errors(404) },
        },
      },
      async (request) => {
        const { tenant } = principalOf(request);
        const { name } = request.params;
        const at = new Date(request.query.at);
        const record = await ctx.reads.findInstance(tenant, name);
        if (!record) throw notFound(`no instance ${name}`);
        const state = reduceAll(await ctx.reads.eventsUntil(record.instanceId, at));
        if (!state) throw notFound(`instance ${name} did not exist yet at ${at.toISOString()}`);
        return { at: at.toISOString(), state: state as unknown as Record<string, unknown> };
      },
    );

    done();
  };
