// The limits an instance's spec is held to (the schemas themselves: ./define-schemas.ts).

// Object names derive from the instance name plus an operation suffix ("-security-12345"), and
// SGDbOps names are capped at 57 characters by StackGres: 36 leaves room for the longest
// suffix ("-security-<seq>-<id tag>").
export const INSTANCE_NAME_MAX = 36;

export const DAYS_OF_WEEK = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'] as const;
