import { connectionSecretName, tenantNamespace, type InstanceState } from '../../domain/logic.js';
import type { ClaimParameters, InstanceRef } from '../../activities/kubernetes/resources.js';

// How an instance's state maps onto its claim. Pure, so it is replay-safe.

export const instanceRef = (state: InstanceState): InstanceRef => ({
  tenant: state.tenant,
  namespace: tenantNamespace(state.tenant),
  instanceName: state.name,
  instanceId: state.instanceId,
});

export function claimParameters(state: InstanceState): ClaimParameters {
  const { spec } = state;
  return {
    size: spec.size,
    instances: spec.instances,
    version: state.version ?? spec.version,
    maintenance: { dayOfWeek: spec.maintenanceWindow.dayOfWeek, timeOfDay: spec.maintenanceWindow.timeOfDay },
    ...(spec.backup ? { backup: spec.backup } : {}),
    deletionProtection: spec.deletionProtection,
    ...(spec.restoreFrom
      ? { restore: { fromBackup: spec.restoreFrom.backup, ...(spec.restoreFrom.pointInTime ? { pointInTime: spec.restoreFrom.pointInTime } : {}) } }
      : {}),
    connectionSecretName: connectionSecretName(spec.name),
  };
}
