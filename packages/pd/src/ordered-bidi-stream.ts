import type { BidiCall, BidiCallHandlers, OpenBidiCall } from './grpc-bidi-call.js';

/** A request waiting for its response. */
interface Waiter<Resp> {
  readonly resolve: (response: Resp) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * Pairs the requests and responses of a gRPC bidirectional stream whose server answers
 * requests in order (PD's `Tso` and `QueryRegion`): `request(req)` writes the request on the
 * call at once and resolves with the matching response. Any failure (transport error, end of
 * stream, a response rejected by `check`) breaks the stream, cancels the call and rejects every
 * outstanding request.
 *
 * @internal
 */
export class OrderedBidiStream<Req, Resp> implements BidiCallHandlers<Resp> {
  readonly #check: (response: Resp) => unknown;
  readonly #waiters: Waiter<Resp>[] = [];
  #call: BidiCall<Req> | undefined;
  #failure: unknown;
  #broken = false;

  /**
   * @param url - the server URL, for messages
   * @param open - starts the call, reporting to the stream
   * @param check - returns an error for a response that must break the stream
   */
  constructor(
    readonly url: string,
    open: OpenBidiCall<Req, Resp>,
    check: (response: Resp) => unknown,
  ) {
    this.#check = check;
    try {
      const call = open(this);
      if (this.#broken) call.cancel();
      else this.#call = call;
    } catch (e) {
      this.#fail(e);
    }
  }

  /** True once the stream has failed or been closed. */
  get broken(): boolean {
    return this.#broken;
  }

  /** Sends a request and resolves with its response. */
  request(req: Req): Promise<Resp> {
    if (this.#broken) return Promise.reject(this.#failure);
    const call = this.#call as BidiCall<Req>;
    return new Promise<Resp>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      call.write(req);
    });
  }

  /** Breaks the stream, rejecting outstanding requests with `reason`. */
  close(reason?: unknown): void {
    this.#fail(reason ?? new Error(`stream to ${this.url} closed`));
  }

  /** A response arrived on the call. @internal */
  onResponse(response: Resp): void {
    if (this.#broken) return;
    const err = this.#check(response);
    if (err !== undefined) {
      this.#fail(err);
      return;
    }
    const w = this.#waiters.shift();
    if (w === undefined) {
      this.#fail(new Error(`unexpected response on the stream to ${this.url}`));
      return;
    }
    w.resolve(response);
  }

  /** The call ended, with its error or cleanly. @internal */
  onEnd(error: unknown): void {
    this.#fail(error ?? new Error(`stream to ${this.url} ended`));
  }

  #fail(e: unknown): void {
    if (this.#broken) return;
    this.#broken = true;
    this.#failure = e;
    this.#call?.cancel();
    for (const w of this.#waiters.splice(0)) w.reject(e);
  }
}
