import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf } from '../auth/authenticate.js';
import { idempotencyKey, reused, type ApiContext } from '../context.js';
import { notFound } from '../errors.js';
import { deterministicId } from '../idempotency.js';
import {
  CreateSubscriptionBody, DeliveriesQuery, DeliveryList, SubscriptionCreated, SubscriptionList, SubscriptionParams,
} from '../schemas.js';
import { errors } from './responses.js';

// Webhook subscriptions of the tenant, and how their deliveries went. Notable events (by topic) are
// POSTed to the URL as Slack-compatible JSON, signed with the subscription's secret.

const sameTopics = (a: readonly string[], b: readonly string[]) => [...a].sort().join(',') === [...b].sort().join(',');

export const notificationRoutes =
  (ctx: ApiContext): FastifyPluginCallbackZod =>
  (app, _options, done) => {
    app.post(
      '/notifications/subscriptions',
      {
        schema: {
          summary: 'Subscribe a webhook',
          description:
            'Events of the chosen topics (failures, upgrades, maintenance, deletions) of every instance of the tenant are POSTed ' +
            'to url, with x-claimflow-timestamp and x-claimflow-signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">. ' +
            'The secret is generated here and shown only in this answer (a repeat with the same Idempotency-Key answers the ' +
            'same, while the subscription exists); lists never show it.',
          body: CreateSubscriptionBody,
          response: { 201: SubscriptionCreated, ...errors(413, 415, 422) },
        },
      },
      async (request, reply) => {
        const { tenant } = principalOf(request);
        const { url } = request.body;
        const topics = [...new Set(request.body.topics)];
        const key = idempotencyKey(request);
        // With an Idempotency-Key the id is derived from it, so a repeat (even a racing one) finds the first.
        const id = key === undefined ? randomUUID() : deterministicId('subscription', tenant, key);
        const result = await ctx.subscriptions.create({ id, tenant, url, topics, secret: randomBytes(32).toString('hex') });
        if (result.created) return reply.code(201).send(result.subscription);
        const { existing } = result;
        if (existing.tenant !== tenant || existing.url !== url || !sameTopics(existing.topics, topics)) throw reused();
        const replayed = { id: existing.id, url: existing.url, topics: existing.topics, createdAt: existing.createdAt, secret: existing.secret };
        return reply.code(201).header('idempotent-replayed', 'true').send(replayed);
      },
    );

    app.get(
      '/notifications/subscriptions',
      {
        schema: { summary: "The tenant's webhook subscriptions", description: 'Without their secrets.', response: { 200: SubscriptionList, ...errors() } },
      },
      async (request) => ({ items: await ctx.subscriptions.list(principalOf(request).tenant) }),
    );

    app.delete(
      '/notifications/subscriptions/:id',
      {
        schema: {
          summary: 'Unsubscribe',
          description: 'Deliveries still pending for it are dropped.',
          params: SubscriptionParams,
          response: { 204: z.null().describe('Deleted'), ...errors(404) },
        },
      },
      async (request, reply) => {
        const deleted = await ctx.subscriptions.delete(principalOf(request).tenant, request.params.id);
        if (!deleted) throw notFound(`no subscription ${request.params.id}`);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/notifications/deliveries',
      {
        schema: {
          summary: 'Recent webhook deliveries',
          description: "The latest outcome of each delivery to the tenant's subscriptions, most recent first.",
          querystring: DeliveriesQuery,
          response: { 200: DeliveryList, ...errors() },
        },
      },
      async (request) => ({ items: await ctx.subscriptions.deliveries(principalOf(request).tenant, request.query.limit) }),
    );

    done();
  };
