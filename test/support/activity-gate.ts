import type { ActivityInterceptorsFactory } from '@temporalio/worker';

/** One run of a gated activity: what it was asked, and when it started and ended on the gate's count. */
export interface GatedRun<T> {
  input: T;
  started: number;
  ended?: number;
}

/**
 * Holds where they start the runs of one activity type that a test names (by a key taken from their
 * input), until the test lets them go, and numbers every start and end in the order they happen, so
 * a test can say which of two writes came first without timing either. Local activities pass
 * through the same interceptors. Give `interceptor` to the worker (`interceptors.activity`).
 */
export class ActivityGate<T> {
  private readonly runs: GatedRun<T>[] = [];
  private readonly held = new Map<string, { release: () => void; released: Promise<void> }>();
  private count = 0;

  constructor(
    private readonly activityType: string,
    private readonly keyOf: (input: T) => string,
  ) {}

  hold(key: string): void {
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    this.held.set(key, { release, released });
  }

  release(key: string): void {
    this.held.get(key)?.release();
    this.held.delete(key);
  }

  runsOf(key: string): GatedRun<T>[] {
    return this.runs.filter((run) => this.keyOf(run.input) === key);
  }

  readonly interceptor: ActivityInterceptorsFactory = (context) => ({
    inbound: {
      execute: async (input, next) => {
        if (context.info.activityType !== this.activityType) return next(input);
        const run: GatedRun<T> = { input: input.args[0] as T, started: this.count++ };
        this.runs.push(run);
        await this.held.get(this.keyOf(run.input))?.released;
        try {
          return await next(input);
        } finally {
          run.ended = this.count++;
        }
      },
    },
  });
}
