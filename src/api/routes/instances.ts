import { randomUUID } from 'node:crypto';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { InstanceName, defaultMaintenanceWindow, type InstanceState, type ResolvedSpec } from '../../domain/index.js';
import type { InstanceWorkflowInput } from '../../workflows/messages.js';
import { principalOf } from '../auth/authenticate.js';
import { idempotent, send, type Answer, type ApiContext } from '../context.js';
import { decodeCursor, pageOf } from '../cursors.js';
import { ApiError, RETRY_AFTER_SECONDS, notFound } from '../errors.js';
import { endedOutsideClaimflow } from '../ended-workflows.js';
import { canonicalJson } from '../idempotency.js';
import {
  ConnectionView, CreateInstanceBody, CreatedBody, InstanceList, InstanceView, ListQuery, NameParams,
  type CreatedBody as Created, type OperationRef,
} from '../schemas.js';
import { instanceView } from '../views.js';
import { errors, instancePath } from './responses.js';

// Creating, listing and reading instances.

const InstanceCursor = z.tuple([InstanceName, z.string().max(100).regex(/^[\w-]+$/)]);

/** The (name, instance id) a list cursor resumes after. */
export const decodeInstanceCursor = (cursor: string): readonly [string, string] => decodeCursor(cursor, InstanceCursor);

function created(statusCode: number, input: InstanceWorkflowInput, phase: Created['instance']['phase'], operation: OperationRef): Answer {
  const body: Created = { instance: { id: input.instanceId, name: input.spec.name, phase, spec: input.spec }, operation };
  return { statusCode, body, headers: { location: instancePath(input.spec.name) } };
}

export const instanceRoutes =
  (ctx: ApiContext): FastifyPluginCallbackZod =>
  (app, _options, done) => {
    /** The read model's state of the instance a running workflow was started for, if projected. */
    async function currentState(tenant: string, existing: InstanceWorkflowInput): Promise<InstanceState | undefined> {
      const record = await ctx.reads.findInstance(tenant, existing.spec.name);
      return record?.state.instanceId === existing.instanceId ? record.state : undefined;
    }

    app.post(
      '/instances',
      {
        schema: {
          summary: 'Create an instance',
          description:
            'Starts provisioning. 202 with the provision operation. Repeating the request with the same spec answers 200 with ' +
            'the existing instance; the same name with a different spec is 409 already_exists. 409 instance_not_running while an ' +
            'instance of that name exists whose workflow ended outside claimflow.',
          body: CreateInstanceBody,
          response: { 200: CreatedBody, 202: CreatedBody, ...errors(409, 413, 415, 422) },
        },
      },
      async (request, reply) => {
        const { tenant, tokenName } = principalOf(request);
        const spec = request.body;
        const resolved: ResolvedSpec = { ...spec, maintenanceWindow: spec.maintenanceWindow ?? defaultMaintenanceWindow(tenant, spec.name) };
        const answer = await idempotent(ctx, request, async ({ requestId }) => {
          // A fresh id even for a repeat: a repeat that races the first request loses the start and
          // answers with the winner's ids (below), and one sent after a delete is a new instance.
          const input: InstanceWorkflowInput = {
            tenant,
            instanceId: randomUUID(),
            spec: resolved,
            requestId,
            actor: `tenant:${tokenName}`,
            ...(ctx.lifecycleSettings ? { settings: ctx.lifecycleSettings } : {}),
          };
          const mine = (existing: InstanceWorkflowInput) => existing.requestId === requestId;
          // Before the start: with the live instance's workflow ended, the start would succeed and
          // apply this spec over that instance's claim.
          const ended = await endedOutsideClaimflow(ctx, tenant, spec.name);
          if (ended) throw ended;
          let result = await ctx.commands.start(input);
          let current = result.started || mine(result.existing) ? undefined : await currentState(tenant, result.existing);
          if (current?.phase === 'deleted') {
            // Deleted, and its workflow is finishing: the name is free in a moment.
            await ctx.commands.waitUntilClosed(tenant, spec.name);
            result = await ctx.commands.start(input);
            current = result.started || mine(result.existing) ? undefined : await currentState(tenant, result.existing);
          }
          if (result.started) return created(202, input, 'provisioning', { id: requestId, type: 'provision', status: 'accepted' });
          const { existing } = result;
          // The same request again (same Idempotency-Key, possibly racing the first one).
          if (mine(existing)) return created(202, existing, 'provisioning', { id: requestId, type: 'provision', status: 'accepted' });
          // Before the spec check: a deleted instance whose workflow outlived the wait above is no
          // conflict of specs, and the caller's remedy is to try again in a moment.
          if (current?.phase === 'deprovisioning' || current?.phase === 'deleted') {
            throw new ApiError(409, 'already_exists', `instance ${spec.name} is being deleted; create it again once it is gone`, undefined, RETRY_AFTER_SECONDS);
          }
          if (canonicalJson(existing.spec) !== canonicalJson(resolved)) {
            throw new ApiError(409, 'already_exists', `instance ${spec.name} already exists with a different spec`);
          }
          const provision = await ctx.reads.operation(tenant, spec.name, existing.requestId);
          const status = provision?.status ?? 'accepted';
          return created(200, existing, current?.phase ?? 'provisioning', { id: existing.requestId, type: 'provision', status });
        });
        return send(reply, answer);
      },
    );

    app.get(
      '/instances',
      {
        schema: {
          summary: "List the tenant's instances",
          description: 'Ordered by name; pass nextCursor as cursor for the next page.',
          querystring: ListQuery,
          response: { 200: InstanceList, ...errors() },
        },
      },
      async (request) => {
        const { tenant } = principalOf(request);
        const { phase, size, version, cursor, limit } = request.query;
        const after = cursor ? decodeInstanceCursor(cursor) : undefined;
        const records = await ctx.reads.listInstances({
          tenant,
          ...(phase ? { phase } : {}),
          ...(size ? { size } : {}),
          ...(version ? { version } : {}),
          ...(after ? { after } : {}),
          limit: limit + 1,
        });
        const { items, nextCursor } = pageOf(records, limit, (record) => [record.state.name, record.instanceId]);
        const now = ctx.clock();
        return { items: items.map((record) => instanceView(record.state, now)), nextCursor };
      },
    );

    app.get(
      '/instances/:name',
      {
        schema: {
          summary: 'Read an instance',
          description: 'The live instance with this name, or else the most recently deleted one (phase "deleted").',
          params: NameParams,
          response: { 200: InstanceView, ...errors(404) },
        },
      },
      async (request) => {
        const { tenant } = principalOf(request);
        const record = await ctx.reads.findInstance(tenant, request.params.name);
        if (!record) throw notFound(`no instance ${request.params.name}`);
        return instanceView(record.state, ctx.clock());
      },
    );

    app.get(
      '/instances/:name/connection',
      {
        schema: {
          summary: 'Where to connect',
          description: 'Host, port, database, user and the name of the Secret that holds the password (the password itself is never stored here).',
          params: NameParams,
          response: { 200: ConnectionView, ...errors(404, 422) },
        },
      },
      async (request) => {
        const { tenant } = principalOf(request);
        const record = await ctx.reads.findInstance(tenant, request.params.name);
        if (!record || record.state.phase === 'deleted') throw notFound(`no instance ${request.params.name}`);
        const { connection } = record.state;
        if (!connection) throw new ApiError(422, 'not_ready', `instance ${request.params.name} is ${record.state.phase}: it has no connection yet`);
        return { host: connection.host, port: connection.port, database: connection.database, user: connection.user, secretName: connection.secretName };
      },
    );

    done();
  };
