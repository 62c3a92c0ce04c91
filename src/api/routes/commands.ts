import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginCallbackZod } from 'fastify-type-provider-zod';
import { ON_DEMAND_BACKUPS_MAX, planUpgrade, type Command, type CommandEnvelope, type OperationType } from '../../domain/index.js';
import { principalOf } from '../auth/authenticate.js';
import { idempotent, send, type ApiContext } from '../context.js';
import { callInstanceWorkflow } from '../ended-workflows.js';
import { BackupParams, CommandAcceptedBody, DeleteQuery, NameParams, PatchInstanceBody, ReasonBody, ReasonQuery, UpgradeBody } from '../schemas.js';
import { operationTypeIn } from '../views.js';
import { errors, operationPath } from './responses.js';

// Commands: each becomes an Update of the instance's workflow, answered 202 once the workflow has
// accepted it (its validator refuses what the instance cannot do now: 409/422 with the reason; an
// instance whose workflow ended outside claimflow is 409 instance_not_running).

const COMMAND_ERRORS = errors(404, 409, 413, 415, 422);

interface CommandRequest {
  name: string;
  command: Command;
  reason?: string | undefined;
  /** The operation type shown to the client (an upgrade's kind is decided by the workflow). */
  typeOf: (requestId: string) => Promise<OperationType> | OperationType;
}

export const commandRoutes =
  (ctx: ApiContext): FastifyPluginCallbackZod =>
  (app, _options, done) => {
    async function run(request: FastifyRequest, reply: FastifyReply, { name, command, reason, typeOf }: CommandRequest) {
      const { tenant, tokenName } = principalOf(request);
      const answer = await idempotent(ctx, request, async ({ requestId }) => {
        const envelope: CommandEnvelope = { requestId, actor: `tenant:${tokenName}`, ...(reason ? { reason } : {}), command };
        await callInstanceWorkflow(ctx, tenant, name, () => ctx.commands.send(tenant, name, envelope));
        const type = await typeOf(requestId);
        return { statusCode: 202, body: { operation: { id: requestId, type, status: 'accepted' } }, headers: { location: operationPath(name, requestId) } };
      });
      return send(reply, answer);
    }

    /** minor or major, as the workflow decided (it is the one that knows the running version). */
    async function upgradeType(tenant: string, name: string, requestId: string, version: string): Promise<OperationType> {
      try {
        const decided = operationTypeIn(await ctx.commands.state(tenant, name), requestId);
        if (decided) return decided;
      } catch {
        // fall back to the read model below
      }
      const projected = await ctx.reads.operation(tenant, name, requestId);
      if (projected) return projected.type;
      const running = (await ctx.reads.findInstance(tenant, name))?.state.version;
      const plan = running ? planUpgrade(running, version) : undefined;
      return plan?.ok && plan.kind === 'major' ? 'major-upgrade' : 'minor-upgrade';
    }

    app.patch(
      '/instances/:name',
      {
        schema: {
          summary: 'Resize, or change settings',
          description:
            '{size, applyAt?} is a resize (operation "scale"); maintenanceWindow, backup, deletionProtection and autoMinorUpgrades ' +
            'are a change of settings (operation "change-settings"). One request does one of the two: combining them is a 400.',
          params: NameParams,
          body: PatchInstanceBody,
          response: { 202: CommandAcceptedBody, ...COMMAND_ERRORS },
        },
      },
      async (request, reply) => {
        const { size, applyAt, reason, ...settings } = request.body;
        const command: Command =
          size !== undefined ? { kind: 'scale', size, applyAt: applyAt ?? 'now' } : { kind: 'change-settings', ...settings };
        return run(request, reply, { name: request.params.name, command, reason, typeOf: () => (command.kind === 'scale' ? 'scale' : 'change-settings') });
      },
    );

    app.post(
      '/instances/:name/restart',
      {
        schema: { summary: 'Restart', params: NameParams, body: ReasonBody, response: { 202: CommandAcceptedBody, ...COMMAND_ERRORS } },
      },
      async (request, reply) =>
        run(request, reply, { name: request.params.name, command: { kind: 'restart' }, reason: request.body?.reason, typeOf: () => 'restart' }),
    );

    app.post(
      '/instances/:name/upgrades',
      {
        schema: {
          summary: 'Upgrade',
          description: '{version}: a minor or major upgrade (decided from the catalog). {"type": "security"}: apply security patches.',
          params: NameParams,
          body: UpgradeBody,
          response: { 202: CommandAcceptedBody, ...COMMAND_ERRORS },
        },
      },
      async (request, reply) => {
        const { name } = request.params;
        const { tenant } = principalOf(request);
        const { version, reason } = request.body;
        if (request.body.type === 'security' || version === undefined) {
          return run(request, reply, { name, command: { kind: 'security-upgrade' }, reason, typeOf: () => 'security-upgrade' });
        }
        return run(request, reply, {
          name,
          command: { kind: 'upgrade', version },
          reason,
          typeOf: (requestId) => upgradeType(tenant, name, requestId, version),
        });
      },
    );

    app.post(
      '/instances/:name/backups',
      {
        schema: {
          summary: 'Take a backup now',
          description: `An on-demand backup, kept until deleted (DELETE .../backups/{backup}); at most ${ON_DEMAND_BACKUPS_MAX} per instance (409 backup_limit).`,
          params: NameParams,
          body: ReasonBody,
          response: { 202: CommandAcceptedBody, ...COMMAND_ERRORS },
        },
      },
      async (request, reply) =>
        run(request, reply, { name: request.params.name, command: { kind: 'backup' }, reason: request.body?.reason, typeOf: () => 'backup' }),
    );

    app.delete(
      '/instances/:name/backups/:backup',
      {
        schema: {
          summary: 'Delete a backup',
          description:
            'Deletes the SGBackup and its files. Any backup the instance has (GET .../backups) can be deleted; on-demand backups ' +
            `stay until deleted, and an instance keeps at most ${ON_DEMAND_BACKUPS_MAX} of them (409 backup_limit).`,
          params: BackupParams,
          querystring: ReasonQuery,
          response: { 202: CommandAcceptedBody, ...COMMAND_ERRORS },
        },
      },
      async (request, reply) =>
        run(request, reply, {
          name: request.params.name,
          command: { kind: 'delete-backup', backupName: request.params.backup },
          reason: request.query.reason,
          typeOf: () => 'delete-backup',
        }),
    );

    app.delete(
      '/instances/:name',
      {
        schema: {
          summary: 'Delete an instance',
          description: 'Takes a final backup first unless ?finalBackup=false. Refused (409 deletion_protected) while deletion protection is on.',
          params: NameParams,
          querystring: DeleteQuery,
          response: { 202: CommandAcceptedBody, ...COMMAND_ERRORS },
        },
      },
      async (request, reply) =>
        run(request, reply, {
          name: request.params.name,
          command: { kind: 'deprovision', finalBackup: request.query.finalBackup ?? true },
          reason: request.query.reason,
          typeOf: () => 'deprovision',
        }),
    );

    done();
  };
