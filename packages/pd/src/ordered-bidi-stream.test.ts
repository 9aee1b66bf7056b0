import type { BidiCall, BidiCallHandlers, OpenBidiCall } from './grpc-bidi-call.js';
import { OrderedBidiStream } from './ordered-bidi-stream.js';

interface Resp {
  readonly n: number;
  readonly bad?: boolean;
}

/** A scripted call: records what is written, answers when the test says so. */
function fakeCall() {
  const state = {
    written: [] as number[],
    cancelled: 0,
    handlers: undefined as BidiCallHandlers<Resp> | undefined,
  };
  const open: OpenBidiCall<number, Resp> = (h) => {
    state.handlers = h;
    const call: BidiCall<number> = {
      write: (n) => state.written.push(n),
      cancel: () => {
        state.cancelled++;
      },
    };
    return call;
  };
  const handlers = (): BidiCallHandlers<Resp> => {
    if (state.handlers === undefined) throw new Error('not open');
    return state.handlers;
  };
  return { state, open, handlers };
}

const check = (r: Resp): unknown => (r.bad === true ? new Error(`bad response ${r.n}`) : undefined);

describe('OrderedBidiStream', () => {
  test('writes each request at once and answers the requests in order', async () => {
    const { state, open, handlers } = fakeCall();
    const s = new OrderedBidiStream('http://pd-1', open, check);
    const a = s.request(1);
    const b = s.request(2);
    expect(state.written).toEqual([1, 2]);
    handlers().onResponse({ n: 10 });
    handlers().onResponse({ n: 20 });
    await expect(a).resolves.toEqual({ n: 10 });
    await expect(b).resolves.toEqual({ n: 20 });
    expect(s.broken).toBe(false);
    // Later requests keep working once the queue drained.
    const c = s.request(3);
    handlers().onResponse({ n: 30 });
    await expect(c).resolves.toEqual({ n: 30 });
    expect(state.cancelled).toBe(0);
  });

  test('a response rejected by check breaks the stream, cancels the call and rejects every outstanding request', async () => {
    const { state, open, handlers } = fakeCall();
    const s = new OrderedBidiStream('http://pd-1', open, check);
    const a = s.request(1);
    const b = s.request(2);
    handlers().onResponse({ n: 1, bad: true });
    await expect(a).rejects.toThrow('bad response 1');
    await expect(b).rejects.toThrow('bad response 1');
    expect(s.broken).toBe(true);
    expect(state.cancelled).toBe(1);
    // A broken stream rejects new requests with the same failure, writing nothing.
    await expect(s.request(3)).rejects.toThrow('bad response 1');
    expect(state.written).toEqual([1, 2]);
    // Late events are ignored.
    handlers().onResponse({ n: 2 });
    handlers().onEnd(new Error('late'));
    s.close();
    expect(state.cancelled).toBe(1);
  });

  test('a transport error rejects the outstanding requests with that error', async () => {
    const { state, open, handlers } = fakeCall();
    const s = new OrderedBidiStream('http://pd-1', open, check);
    const a = s.request(1);
    const err = new Error('UNAVAILABLE');
    handlers().onEnd(err);
    await expect(a).rejects.toBe(err);
    expect(s.broken).toBe(true);
    expect(state.cancelled).toBe(1);
  });

  test("the server's end of the stream breaks it", async () => {
    const { open, handlers } = fakeCall();
    const s = new OrderedBidiStream('http://pd-1', open, check);
    const a = s.request(1);
    handlers().onEnd(undefined);
    await expect(a).rejects.toThrow('stream to http://pd-1 ended');
    expect(s.broken).toBe(true);
  });

  test('a response nobody asked for breaks the stream', async () => {
    const { open, handlers } = fakeCall();
    const s = new OrderedBidiStream('http://pd-1', open, check);
    handlers().onResponse({ n: 1 });
    expect(s.broken).toBe(true);
    await expect(s.request(1)).rejects.toThrow('unexpected response on the stream to http://pd-1');
  });

  test('close(reason) rejects outstanding requests with the reason; close() with its own error', async () => {
    const { state, open } = fakeCall();
    const s = new OrderedBidiStream('http://pd-1', open, check);
    const a = s.request(1);
    const reason = new Error('leader changed');
    s.close(reason);
    await expect(a).rejects.toBe(reason);
    expect(state.cancelled).toBe(1);
    const other = new OrderedBidiStream('http://pd-2', fakeCall().open, check);
    const b = other.request(1);
    other.close();
    await expect(b).rejects.toThrow('stream to http://pd-2 closed');
  });

  test('a call that fails to open leaves the stream broken with its error', async () => {
    const err = new Error('channel closed');
    const s = new OrderedBidiStream<number, Resp>(
      'http://pd-1',
      () => {
        throw err;
      },
      check,
    );
    expect(s.broken).toBe(true);
    await expect(s.request(1)).rejects.toBe(err);
  });

  test('a call that ends while it is being opened is cancelled', async () => {
    let cancelled = 0;
    const s = new OrderedBidiStream<number, Resp>(
      'http://pd-1',
      (h) => {
        h.onEnd(new Error('refused'));
        return { write: () => {}, cancel: () => void cancelled++ };
      },
      check,
    );
    expect(s.broken).toBe(true);
    expect(cancelled).toBe(1);
    await expect(s.request(1)).rejects.toThrow('refused');
  });
});
