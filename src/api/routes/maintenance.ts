import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { nextMaintenanceAt, windowLengthMs } from '../../domain/index.js';
import { isPlatform, principalOf, requirePlatform } from '../auth/authenticate.js';
import { idempotent, send, type ApiContext } from '../context.js';
import { callInstanceWorkflow } from '../ended-workflows.js';
import { decodeCursor, pageOf } from '../cursors.js';
import { ApiError, notFound } from '../errors.js';
import {
  EmptyBody, FleetStatusView, MaintenanceRunList, MaintenanceRunsQuery, MaintenanceTriggered, NameParams, PatchFleetBody,
  type UpcomingMaintenance,
} from '../schemas.js';
import { errors } from './responses.js';

// Maintenance: the fleet coordinator's controls (platform operators only: they act on every
// tenant), the runs that happened and the windows to come, and "run maintenance now" on an instance.

const RunCursor = z.tuple([z.iso.datetime(), z.string().max(100), z.string().max(300)]);

const PLATFORM_ONLY = 'Platform operators only (tokens of the reserved tenant "platform"); others get 403 forbidden.';

export const maintenanceRoutes =
  (ctx: ApiContext): FastifyPluginCallbackZod =>
  (app, _options, done) => {
    app.get(
      '/maintenance',
      {
        schema: {
          summary: 'The fleet maintenance coordinator',
          description: `Its cap on concurrent maintenance, whether it is paused, and the instances running or waiting. ${PLATFORM_ONLY}`,
          response: { 200: FleetStatusView, ...errors(403) },
        },
      },
      async (request) => {
        requirePlatform(request);
        return ctx.fleet.status();
      },
    );

    app.patch(
      '/maintenance',
      {
        schema: {
          summary: 'Change the fleet maintenance settings',
          description: `Sets maxConcurrent and/or paused; answers the new status. ${PLATFORM_ONLY}`,
          body: PatchFleetBody,
          response: { 200: FleetStatusView, ...errors(403, 413, 415) },
        },
      },
      async (request) => {
        requirePlatform(request);
        return ctx.fleet.configure(request.body);
      },
    );

    app.post(
      '/maintenance/pause',
      {
        schema: {
          summary: 'Pause fleet maintenance',
          description: `No new maintenance run starts: waiting runs wait, and are skipped if their window closes first. ${PLATFORM_ONLY}`,
          body: EmptyBody,
          response: { 200: FleetStatusView, ...errors(403, 413, 415) },
        },
      },
      async (request) => {
        requirePlatform(request);
        return ctx.fleet.configure({ paused: true });
      },
    );

    app.post(
      '/maintenance/resume',
      {
        schema: {
          summary: 'Resume fleet maintenance',
          description: `Waiting runs start again, up to maxConcurrent at once. ${PLATFORM_ONLY}`,
          body: EmptyBody,
          response: { 200: FleetStatusView, ...errors(403, 413, 415) },
        },
      },
      async (request) => {
        requirePlatform(request);
        return ctx.fleet.configure({ paused: false });
      },
    );

    app.get(
      '/maintenance/runs',
      {
        schema: {
          summary: 'Maintenance runs and upcoming windows',
          description:
            'items: runs (waiting, running, completed, failed, skipped), newest first; pass nextCursor as cursor for the next page. ' +
            'upcoming: the next window of each live instance, soonest first (at most limit). A tenant sees its own instances; ' +
            'platform operators see every tenant.',
          querystring: MaintenanceRunsQuery,
          response: { 200: MaintenanceRunList, ...errors() },
        },
      },
      async (request) => {
        const tenant = isPlatform(request) ? undefined : principalOf(request).tenant;
        const { instance, status, cursor, limit } = request.query;
        const before = cursor ? decodeCursor(cursor, RunCursor) : undefined;
        const scope = { ...(tenant !== undefined ? { tenant } : {}), ...(instance !== undefined ? { instance } : {}) };
        const [runs, targets] = await Promise.all([
          ctx.reads.maintenanceRuns({ ...scope, ...(status ? { status } : {}), ...(before ? { before } : {}), limit: limit + 1 }),
          ctx.reads.maintenanceTargets(scope),
        ]);
        const { items, nextCursor } = pageOf(runs, limit, (run) => [run.openedAt, run.instanceId, run.runId]);
        const now = ctx.clock();
        const upcoming: UpcomingMaintenance[] = targets
          .map((target) => ({
            tenant: target.tenant,
            instance: target.name,
            instanceId: target.instanceId,
            maintenanceWindow: target.maintenanceWindow,
            nextMaintenanceAt: nextMaintenanceAt(target.maintenanceWindow, now, target.lastOpenedAt).toISOString(),
          }))
          .sort((a, b) => a.nextMaintenanceAt.localeCompare(b.nextMaintenanceAt) || a.tenant.localeCompare(b.tenant) || a.instance.localeCompare(b.instance))
          .slice(0, limit);
        return { items, nextCursor, upcoming };
      },
    );

    app.post(
      '/instances/:name/maintenance',
      {
        schema: {
          summary: 'Run maintenance now',
          description:
            'Opens a maintenance window now, outside the schedule: the run waits for a running operation and for a fleet slot like ' +
            'a scheduled one, then backs up and upgrades (no upgrade starts once the window has closed). 202 once the ' +
            'instance accepted it, with the run\'s id; follow it in ' +
            'GET /v1/maintenance/runs?instance={name} or in the instance\'s "maintenance". 409 not_ready unless the instance is ready; ' +
            '409 busy while a maintenance run of the instance is waiting or running.',
          params: NameParams,
          body: EmptyBody,
          response: { 202: MaintenanceTriggered, ...errors(404, 409, 413, 415, 422) },
        },
      },
      async (request, reply) => {
        const { tenant, tokenName } = principalOf(request);
        const { name } = request.params;
        const answer = await idempotent(ctx, request, async ({ requestId }) => {
          const record = await ctx.reads.findInstance(tenant, name);
          if (!record || record.state.phase === 'deleted') throw notFound(`no instance ${name}`);
          const { phase, maintenance } = record.state;
          if (phase !== 'ready') throw new ApiError(409, 'not_ready', `instance ${name} is ${phase}: maintenance runs only on a ready instance`);
          // One run at a time: a second one would only wait for the first, and compete for its fleet slot.
          if (maintenance && (maintenance.status === 'waiting' || maintenance.status === 'running')) {
            throw new ApiError(409, 'busy', `maintenance run ${maintenance.runId} of instance ${name} is ${maintenance.status}`);
          }
          const runId = `manual/${tenant}/${name}/${requestId}`;
          const windowMs = windowLengthMs(record.state.spec.maintenanceWindow, ctx.lifecycleSettings?.maintenanceWindowMs);
          const opening = { runId, actor: `tenant:${tokenName}`, trigger: 'manual' as const, windowEndsAt: new Date(ctx.clock().getTime() + windowMs).toISOString(), report: false };
          try {
            await callInstanceWorkflow(ctx, tenant, name, () => ctx.commands.openMaintenance(tenant, name, opening));
          } catch (error) {
            // The instance itself refused: the read model was behind it (it is no longer ready).
            if (error instanceof WorkflowUpdateFailedError) throw new ApiError(409, 'not_ready', error.cause?.message ?? error.message);
            throw error;
          }
          return {
            statusCode: 202,
            body: { maintenance: { status: 'triggered' as const, runId } },
            headers: { location: `/v1/maintenance/runs?instance=${encodeURIComponent(name)}` },
          };
        });
        return send(reply, answer);
      },
    );

    done();
  };
