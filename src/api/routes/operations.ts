import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { principalOf } from '../auth/authenticate.js';
import type { ApiContext } from '../context.js';
import { notFound } from '../errors.js';
import { BackupList, BackupsQuery, NameParams, Operation, OperationParams } from '../schemas.js';
import { operationFromState } from '../views.js';
import { errors } from './responses.js';

// Operations and backups, from the read model.

export const operationRoutes =
  (ctx: ApiContext): FastifyPluginCallbackZod =>
  (app, _options, done) => {
    app.get(
      '/instances/:name/operations/:id',
      {
        schema: {
          summary: 'Read an operation',
          description:
            'Status running, succeeded or failed from the read model; "accepted" when the workflow has taken the command but ' +
            'the read model has not caught up yet.',
          params: OperationParams,
          response: { 200: Operation, ...errors(404) },
        },
      },
      async (request) => {
        const { tenant } = principalOf(request);
        const { name, id } = request.params;
        const projected = await ctx.reads.operation(tenant, name, id);
        if (projected) return projected;
        // Accepted a moment ago and not projected yet? Only the workflow knows.
        try {
          const found = operationFromState(await ctx.commands.state(tenant, name), id);
          if (found) return found;
        } catch (error) {
          if (!(error instanceof WorkflowNotFoundError)) throw error;
        }
        throw notFound(`no operation ${id} on instance ${name}`);
      },
    );

    app.get(
      '/instances/:name/backups',
      {
        schema: {
          summary: "An instance's backups",
          description: 'The backups that exist, oldest first; ?deleted=true adds those deleted since (by retention or on request).',
          params: NameParams,
          querystring: BackupsQuery,
          response: { 200: BackupList, ...errors(404) },
        },
      },
      async (request) => {
        const { tenant } = principalOf(request);
        const record = await ctx.reads.findInstance(tenant, request.params.name);
        if (!record) throw notFound(`no instance ${request.params.name}`);
        return { items: await ctx.reads.backups(record.instanceId, { deleted: request.query.deleted ?? false }) };
      },
    );

    done();
  };
