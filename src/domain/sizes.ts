// One table maps a size to everything that depends on it, so the claim, the read model and the
// API never disagree about what "medium" means.
export const SIZES = {
  small: { cpu: '1', memory: '2Gi', storage: '10Gi', backupRetention: 3 },
  medium: { cpu: '2', memory: '8Gi', storage: '50Gi', backupRetention: 7 },
  large: { cpu: '4', memory: '16Gi', storage: '200Gi', backupRetention: 14 },
} as const;

export type Size = keyof typeof SIZES;
export const SIZE_NAMES = Object.keys(SIZES) as [Size, ...Size[]];
