import { WorkflowNotFoundError, type WorkflowExecutionDescription, type WorkflowHandle } from '@temporalio/client';

/**
 * A workflow's newest run as Temporal describes it; null once Temporal has none (never started,
 * or past the namespace's retention). Any other failure is thrown.
 */
export async function describeIfKept(handle: WorkflowHandle): Promise<WorkflowExecutionDescription | null> {
  try {
    return await handle.describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return null;
    throw error;
  }
}
