import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { principalOf } from '../auth/authenticate.js';
import type { ApiContext } from '../context.js';
import { decodeCursor, pageOf } from '../cursors.js';
import { notFound } from '../errors.js';
import { BackupList, BackupsQuery, NameParams, Operation, OperationList, OperationParams, OperationsQuery } from '../schemas.js';
import { operationFromState } from '../views.js';
import { errors } from './responses.js';

// Operations and backups, from the read model.

const OperationCursor = z.tuple([z.iso.datetime(), z.string().max(200)]);

export const operationRoutes =
  (ctx: ApiContext): FastifyPluginCallbackZod =>
  (app, _options, done) => {
    app.get(
      '/instances/:name/operations',
      {
        schema: {
          summary: "An instance's operations",
          description:
            'What was asked of the instance and how it went (who asked, the step it reached, the reason it failed), newest first; ' +
            'pass nextCursor as cursor for the next page. Of a deleted name, the operations of its most recently deleted instance.',
          params: NameParams,
          querystring: OperationsQuery,
          response: { 200: OperationList, ...errors(404) },
        },
      },
      async (request) => {
        const { tenant } = principalOf(request);
        const { status, type, cursor, limit } = request.query;
        const record = await ctx.reads.findInstance(tenant, request.params.name);
        if (!record) throw notFound(`no instance ${request.params.name}`);
        const before = cursor ? decodeCursor(cursor, OperationCursor) : undefined;
        const operations = await ctx.reads.operations(record.instanceId, {
          ...(status ? { status } : {}),
          ...(type ? { type } : {}),
          ...(before ? { before } : {}),
          limit: limit + 1,
        });
        return pageOf(operations, limit, (operation) => [operation.startedAt, operation.id]);
      },
    );

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
