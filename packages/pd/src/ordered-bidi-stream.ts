import { AsyncQueue } from '@tikv/common';

/**
 * Pairs the requests and responses of a gRPC bidirectional stream whose server answers
 * requests in order (PD's `Tso` and `QueryRegion`): `request(req)` resolves with the
 * matching response. Any failure (transport error, end of stream, a response rejected by
 * `check`) breaks the stream and rejects every outstanding request.
 *
 * @internal
 */
export class OrderedBidiStream<Req, Resp> {
  private readonly requests = new AsyncQueue<Req>();
  private readonly pending: Array<{ resolve: (r: Resp) => void; reject: (e: unknown) => void }> = [];
  private readonly controller = new AbortController();
  private failure: unknown;
  private isBroken = false;

  /**
   * @param url - the server URL, for messages
   * @param open - starts the call with the request iterable and the stream's signal
   * @param check - returns an error for a response that must break the stream
   */
  constructor(
    readonly url: string,
    open: (requests: AsyncIterable<Req>, signal: AbortSignal) => AsyncIterable<Resp>,
    private readonly check: (resp: Resp) => unknown,
  ) {
    void this.pump(open(this.requests, this.controller.signal));
  }

  /** True once the stream has failed or been closed. */
  get broken(): boolean {
    return this.isBroken;
  }

  /** Sends a request and resolves with its response. */
  request(req: Req): Promise<Resp> {
    if (this.isBroken) return Promise.reject(this.failure);
    return new Promise<Resp>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.requests.push(req);
    });
  }

  /** Breaks the stream, rejecting outstanding requests with `reason`. */
  close(reason?: unknown): void {
    this.fail(reason ?? new Error(`stream to ${this.url} closed`));
  }

  private async pump(responses: AsyncIterable<Resp>): Promise<void> {
    try {
      for await (const resp of responses) {
        const err = this.check(resp);
        if (err !== undefined) {
          this.fail(err);
          return;
        }
        const p = this.pending.shift();
        if (p === undefined) {
          this.fail(new Error(`unexpected response on the stream to ${this.url}`));
          return;
        }
        p.resolve(resp);
      }
      this.fail(new Error(`stream to ${this.url} ended`));
    } catch (e) {
      this.fail(e);
    }
  }

  private fail(e: unknown): void {
    if (this.isBroken) return;
    this.isBroken = true;
    this.failure = e;
    this.controller.abort(e);
    this.requests.end();
    for (const p of this.pending.splice(0)) p.reject(e);
  }
}
