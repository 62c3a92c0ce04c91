// The PostgreSQL versions claimflow offers. Upgrades are only ever to a version listed here, so a
// typo or an unsupported build is refused before anything reaches the cluster.
export const SUPPORTED_VERSIONS = {
  '14': ['14.15', '14.17', '14.18'],
  '15': ['15.10', '15.12', '15.13'],
  '16': ['16.6', '16.8', '16.9'],
  '17': ['17.2', '17.4', '17.5'],
} as const satisfies Record<string, readonly string[]>;

export type PostgresVersion = string;

export const ALL_VERSIONS: readonly string[] = Object.values(SUPPORTED_VERSIONS).flat();

export const majorOf = (version: PostgresVersion): number => Number(version.split('.')[0]);
const minorOf = (version: PostgresVersion): number => Number(version.split('.')[1]);

export const isSupportedVersion = (version: string): boolean => ALL_VERSIONS.includes(version);

export function newestMinorOf(major: number): PostgresVersion | undefined {
  const minors = (SUPPORTED_VERSIONS as Record<string, readonly string[]>)[String(major)];
  return minors?.[minors.length - 1];
}

export type UpgradePlan = { ok: true; kind: 'minor' | 'major' } | { ok: false; code: 'unknown_version' | 'downgrade' | 'same_version'; message: string };

/** Decides whether `from -> to` is a minor upgrade, a major upgrade, or not allowed (and why). */
export function planUpgrade(from: PostgresVersion, to: PostgresVersion): UpgradePlan {
  if (!isSupportedVersion(to)) {
    return { ok: false, code: 'unknown_version', message: `version ${to} is not in the catalog (supported: ${ALL_VERSIONS.join(', ')})` };
  }
  if (from === to) return { ok: false, code: 'same_version', message: `the instance already runs ${to}` };
  const [fromMajor, toMajor] = [majorOf(from), majorOf(to)];
  if (toMajor < fromMajor || (toMajor === fromMajor && minorOf(to) < minorOf(from))) {
    return { ok: false, code: 'downgrade', message: `${from} -> ${to} is a downgrade; PostgreSQL cannot be downgraded in place (restore a backup instead)` };
  }
  return { ok: true, kind: toMajor === fromMajor ? 'minor' : 'major' };
}
