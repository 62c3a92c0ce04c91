/**
 * Gathers items that many activities send to one workflow into few signals ("group commit"): the
 * first item goes out at once, and those that arrive while a signal is on its way wait and leave
 * together in the next. A lone request pays no added delay; a thousand maintenance windows opening
 * in the same second become a handful of signals instead of a thousand calls queued on one
 * workflow's lock. Each caller's promise settles with the signal that carried its item, so a
 * failed send fails (and retries) exactly the activities whose items it held.
 */
export class SignalBatcher<T> {
  private pending: Array<{ item: T; resolve: () => void; reject: (error: unknown) => void }> = [];
  private sending = false;

  constructor(
    private readonly send: (items: T[]) => Promise<void>,
    private readonly maxBatch = 500,
  ) {}

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (!this.sending) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.sending = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, this.maxBatch);
        try {
          await this.send(batch.map(({ item }) => item));
          for (const waiter of batch) waiter.resolve();
        } catch (error) {
          for (const waiter of batch) waiter.reject(error);
        }
      }
    } finally {
      this.sending = false;
    }
  }
}
