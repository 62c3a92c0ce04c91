// Kubernetes object names derive from the instance and the event that starts the work, so a
// retried activity or a restarted worker finds the object it created instead of creating another.

export type DbOpsWord = 'restart' | 'minor' | 'major' | 'security';

/** The first hex characters of the instance id: tells apart two instances that reuse one name. */
const idTag = (instanceId: string): string => instanceId.replace(/[^a-z0-9]/gi, '').slice(0, 4).toLowerCase();

function objectName(instanceName: string, word: string, seq: number, instanceId: string): string {
  const name = `${instanceName}-${word}-${seq.toString(36)}-${idTag(instanceId)}`;
  if (name.length > 57) throw new Error(`object name ${name} exceeds StackGres's 57 characters`);
  return name;
}

export const dbOpsName = (instanceName: string, word: DbOpsWord, seq: number, instanceId: string): string =>
  objectName(instanceName, word, seq, instanceId);

export const backupName = (instanceName: string, seq: number, instanceId: string): string =>
  objectName(instanceName, 'backup', seq, instanceId);

export const claimName = (instanceName: string): string => instanceName;
export const connectionSecretName = (instanceName: string): string => `${instanceName}-connection`;
/** Each tenant's objects live in a namespace of their own. */
export const tenantNamespace = (tenant: string): string => `tenant-${tenant}`;
export const workflowIdFor = (tenant: string, instanceName: string): string => `instance/${tenant}/${instanceName}`;
