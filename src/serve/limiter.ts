/**
 * A cap on the requests that do real work (POST /predict): at most `active`
 * run at once, at most `queued` wait, and anything beyond is refused at once
 * (HTTP 503 with Retry-After) instead of piling parsed bodies and graph
 * batches up in memory. Each waiting request holds at most one body of
 * `bodyLimit` bytes, so the queue's memory is bounded by queued x bodyLimit.
 */
export class ServerBusy extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super("busy");
  }
}

export class RequestLimiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly active: number,
    readonly queued: number,
    private readonly retryAfterSeconds = 1,
  ) {}

  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  /** Runs `work` when a slot is free; throws ServerBusy when the queue is full. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.active) {
      if (this.waiting.length >= this.queued) throw new ServerBusy(this.retryAfterSeconds);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.running++;
    try {
      return await work();
    } finally {
      // hand the slot straight to the next waiter (running stays the same), or free it
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
