import type { TsoResult, TsoStream, TsoStreamProvider } from '../src/tso-stream.js';

interface PendingRequest {
  readonly count: number;
  resolve(r: TsoResult): void;
  reject(e: unknown): void;
}

/**
 * A scriptable in-memory {@link TsoStream} for tests: requests wait until the test answers
 * them (`answerNext`) or the stream runs in auto mode, granting from its own counter.
 *
 * @internal
 */
export class FakeTsoStream implements TsoStream {
  broken = false;
  readonly pending: PendingRequest[] = [];
  readonly counts: number[] = [];
  private waiters: Array<() => void> = [];

  constructor(
    readonly url: string,
    private readonly oracle: FakeTsoServer,
    private readonly auto: boolean,
  ) {}

  request(count: number): Promise<TsoResult> {
    if (this.broken) return Promise.reject(new Error('stream closed'));
    this.counts.push(count);
    return new Promise<TsoResult>((resolve, reject) => {
      this.pending.push({ count, resolve, reject });
      if (this.auto) queueMicrotask(() => this.answerNext());
      const ws = this.waiters;
      this.waiters = [];
      for (const w of ws) w();
    });
  }

  /** Resolves when at least `n` requests are waiting for an answer. */
  async untilPending(n = 1): Promise<void> {
    while (this.pending.length < n) {
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Answers the oldest waiting request from the server's counter (or with `override`). */
  answerNext(override?: Partial<TsoResult>): void {
    const p = this.pending.shift();
    if (p === undefined) return;
    const granted = this.oracle.grant(p.count);
    p.resolve({ ...granted, ...override });
  }

  close(reason?: unknown): void {
    if (this.broken) return;
    this.broken = true;
    for (const p of this.pending.splice(0)) p.reject(reason ?? new Error('stream closed'));
  }
}

/**
 * A fake TSO service: hands out ranges from one physical/logical counter, opens
 * {@link FakeTsoStream}s and records what happened.
 *
 * @internal
 */
export class FakeTsoServer implements TsoStreamProvider {
  physical = 1_000n;
  logical = 0n;
  readonly streams: FakeTsoStream[] = [];
  readonly failures: Array<{ error: unknown; url: string | undefined }> = [];
  connectError: unknown;
  url = 'http://pd-1';
  private connectWaiters: Array<() => void> = [];

  constructor(private readonly auto = false) {}

  grant(count: number): TsoResult {
    this.logical += BigInt(count);
    return { physical: this.physical, logical: this.logical, count };
  }

  connect(signal: AbortSignal): Promise<FakeTsoStream> {
    signal.throwIfAborted();
    if (this.connectError !== undefined) return Promise.reject(this.connectError);
    const s = new FakeTsoStream(this.url, this, this.auto);
    this.streams.push(s);
    const ws = this.connectWaiters;
    this.connectWaiters = [];
    for (const w of ws) w();
    return Promise.resolve(s);
  }

  /** Resolves when at least `n` streams were opened. */
  async untilStreams(n: number): Promise<void> {
    while (this.streams.length < n) await new Promise<void>((r) => this.connectWaiters.push(r));
  }

  get current(): FakeTsoStream {
    const s = this.streams[this.streams.length - 1];
    if (s === undefined) throw new Error('no stream');
    return s;
  }

  onStreamFailure(error: unknown, url: string | undefined): void {
    this.failures.push({ error, url });
  }
}
