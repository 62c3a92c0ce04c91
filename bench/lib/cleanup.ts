// Teardown that always runs: on success, on failure, on Ctrl-C / SIGTERM. Each bench registers
// what it started (processes, the stack) and the runner unwinds it in reverse order.

type Cleanup = { what: string; run: () => Promise<void> | void };

const stack: Cleanup[] = [];
let unwinding: Promise<void> | undefined;
const interrupt = new AbortController();

/** Aborted on Ctrl-C / SIGTERM: long waits in benches pass it on. */
export const interrupted: AbortSignal = interrupt.signal;

/** Registers a teardown step; returns a function that runs it now (and unregisters it). */
export function onCleanup(what: string, run: () => Promise<void> | void): () => Promise<void> {
  const entry: Cleanup = { what, run };
  stack.push(entry);
  return async () => {
    const i = stack.indexOf(entry);
    if (i < 0) return;
    stack.splice(i, 1);
    await entry.run();
  };
}

/** Runs every registered teardown, newest first; errors are reported, never thrown. */
export async function cleanupAll(): Promise<void> {
  while (stack.length > 0) {
    const entry = stack.pop()!;
    try {
      await entry.run();
    } catch (error) {
      console.error(`[bench] cleanup of ${entry.what} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

export function installSignalHandlers(): void {
  const handler = (signal: NodeJS.Signals) => {
    if (unwinding) return;
    console.error(`\n[bench] ${signal}: stopping and tearing down...`);
    interrupt.abort(new Error(`interrupted by ${signal}`));
    unwinding = cleanupAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

export function throwIfInterrupted(): void {
  if (interrupted.aborted) throw interrupted.reason instanceof Error ? interrupted.reason : new Error('interrupted');
}

export const sleep = (ms: number) =>
  new Promise<void>((resolve, reject) => {
    if (interrupted.aborted) return reject(interrupted.reason as Error);
    const timer = setTimeout(() => {
      interrupted.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(interrupted.reason as Error);
    };
    interrupted.addEventListener('abort', onAbort, { once: true });
  });
