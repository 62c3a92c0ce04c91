// Teardown that always runs: on success, on failure, on Ctrl-C / SIGTERM. Each bench registers
// what it started (processes, the stack) and the runner unwinds it in reverse order.

type Cleanup = { what: string; run: () => Promise<void> | void };

const stack: Cleanup[] = [];
let unwinding: Promise<void> | undefined;
const interrupt = new AbortController();
let broken = new AbortController();
let stopped = AbortSignal.any([interrupt.signal, broken.signal]);

/** Aborted on Ctrl-C / SIGTERM, or when a process this bench needs died: long waits pass it on. */
export const interrupted = (): AbortSignal => stopped;

/** A process the bench needs died on its own: every wait stops at once and says why, instead of waiting out its timeout. */
export function breakBench(reason: Error): void {
  if (!broken.signal.aborted) broken.abort(reason);
}

/** Each bench starts whole: a process that died in the one before does not stop the next. */
export function startBench(): void {
  broken = new AbortController();
  stopped = AbortSignal.any([interrupt.signal, broken.signal]);
}

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
  const signal = interrupted();
  if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('interrupted');
}

export const sleep = (ms: number) =>
  new Promise<void>((resolve, reject) => {
    const signal = interrupted();
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
