import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';

/**
 * Why an instance did not take scheduled work: its validator refused the Update, or its workflow
 * is gone. Null for any other failure, which is the caller's to retry.
 */
export function refusalOf(error: unknown): string | null {
  if (error instanceof WorkflowUpdateFailedError) return error.cause?.message ?? error.message;
  if (error instanceof WorkflowNotFoundError) return 'the instance no longer exists';
  return null;
}
