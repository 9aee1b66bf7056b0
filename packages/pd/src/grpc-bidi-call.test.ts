import { once } from 'node:events';
import {
  Server,
  ServerCredentials,
  type ServerDuplexStream,
  type ServiceDefinition,
  status,
} from '@grpc/grpc-js';
import { pdpb } from '@tikv/proto';
import { ClientError } from 'nice-grpc';
import type { BidiCallHandlers } from './grpc-bidi-call.js';
import { bidiMethod, encodedBidiMethod } from './grpc-bidi-call.js';
import { PdConnections } from './pd-connections.js';
import { isUnimplemented } from './pd-errors.js';
import { encodeTsoRequest, tsoRequestPrefix } from './tso-request-encoding.js';

type TsoCall = ServerDuplexStream<pdpb.TsoRequest, pdpb.TsoResponse>;

/** A loopback server of `pdpb.PD/Tso` only, whose behaviour each test scripts. */
async function startServer(onCall: (call: TsoCall) => void): Promise<{ url: string; stop(): Promise<void> }> {
  const definition: ServiceDefinition = {
    tso: {
      path: '/pdpb.PD/Tso',
      requestStream: true,
      responseStream: true,
      requestSerialize: (m: pdpb.TsoRequest) => Buffer.from(pdpb.TsoRequest.encode(m).finish()),
      requestDeserialize: (b: Buffer) => pdpb.TsoRequest.decode(b),
      responseSerialize: (m: pdpb.TsoResponse) => Buffer.from(pdpb.TsoResponse.encode(m).finish()),
      responseDeserialize: (b: Buffer) => pdpb.TsoResponse.decode(b),
    },
  };
  const server = new Server();
  server.addService(definition, { tso: onCall });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) =>
      e === null ? resolve(p) : reject(e),
    ),
  );
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** Collects what a call reports; `ended` settles with the end's error (or undefined). */
function collector() {
  const responses: pdpb.TsoResponse[] = [];
  let onData: (() => void) | undefined;
  let endWith: (e: unknown) => void = () => {};
  const ended = new Promise<unknown>((resolve) => {
    endWith = resolve;
  });
  const handlers: BidiCallHandlers<pdpb.TsoResponse> = {
    onResponse: (r) => {
      responses.push(r);
      onData?.();
    },
    onEnd: (e) => endWith(e),
  };
  const untilResponses = async (n: number): Promise<void> => {
    while (responses.length < n) await new Promise<void>((r) => (onData = r));
  };
  return { responses, handlers, ended, untilResponses };
}

const TSO = encodedBidiMethod(pdpb.PDDefinition, pdpb.PDDefinition.methods.tso);
const header: pdpb.RequestHeader = { clusterId: 9n, senderId: 0n, callerId: 'test', callerComponent: '' };
const prefix = tsoRequestPrefix(pdpb.RequestHeader.encode(header).finish());

describe('openGrpcBidiCall over a PdConnections channel', () => {
  test('requests reach the server encoded, with the metadata; responses come back in order', async () => {
    const seen: { count: number; clusterId: bigint | undefined; forwarded: unknown }[] = [];
    const server = await startServer((call) => {
      const forwarded = call.metadata.get('pd-forwarded-host')[0];
      let logical = 0n;
      call.on('data', (req: pdpb.TsoRequest) => {
        seen.push({ count: req.count, clusterId: req.header?.clusterId, forwarded });
        logical += BigInt(req.count);
        call.write(pdpb.TsoResponse.fromPartial({ count: req.count, timestamp: { physical: 5n, logical } }));
      });
      call.on('end', () => call.end());
    });
    const connections = new PdConnections(undefined);
    try {
      const c = collector();
      const call = connections.openBidiCall(server.url, TSO, c.handlers, {
        'pd-forwarded-host': 'http://leader',
      });
      call.write(encodeTsoRequest(prefix, 3));
      call.write(encodeTsoRequest(prefix, 200));
      await c.untilResponses(2);
      expect(c.responses.map((r) => [r.count, r.timestamp?.logical])).toEqual([
        [3, 3n],
        [200, 203n],
      ]);
      expect(seen).toEqual([
        { count: 3, clusterId: 9n, forwarded: 'http://leader' },
        { count: 200, clusterId: 9n, forwarded: 'http://leader' },
      ]);
      call.cancel();
    } finally {
      connections.close();
      await server.stop();
    }
  });

  test('a non-OK status ends the call with a ClientError carrying the code, path and details', async () => {
    const server = await startServer((call) => {
      call.on('data', () => call.emit('error', { code: status.UNAVAILABLE, details: 'not leader' }));
    });
    const connections = new PdConnections(undefined);
    try {
      const c = collector();
      const call = connections.openBidiCall(server.url, TSO, c.handlers);
      call.write(encodeTsoRequest(prefix, 1));
      const e = await c.ended;
      expect(e).toBeInstanceOf(ClientError);
      expect(e).toEqual(
        expect.objectContaining({ code: status.UNAVAILABLE, details: 'not leader', path: '/pdpb.PD/Tso' }),
      );
      // Writing after the end is a no-op.
      call.write(encodeTsoRequest(prefix, 1));
      call.cancel();
    } finally {
      connections.close();
      await server.stop();
    }
  });

  test('a method the server lacks ends as UNIMPLEMENTED', async () => {
    const server = await startServer(() => {});
    const connections = new PdConnections(undefined);
    try {
      const c = collector();
      const qr = bidiMethod(pdpb.PDDefinition, pdpb.PDDefinition.methods.queryRegion);
      const call = connections.openBidiCall(
        server.url,
        qr,
        c.handlers as unknown as BidiCallHandlers<pdpb.QueryRegionResponse>,
      );
      call.write(pdpb.QueryRegionRequest.fromPartial({ header }));
      expect(isUnimplemented(await c.ended)).toBe(true);
    } finally {
      connections.close();
      await server.stop();
    }
  });

  test("the server's clean end is reported without an error", async () => {
    const server = await startServer((call) => {
      call.on('data', () => {
        call.write(pdpb.TsoResponse.fromPartial({ count: 1 }));
        call.end();
      });
    });
    const connections = new PdConnections(undefined);
    try {
      const c = collector();
      const call = connections.openBidiCall(server.url, TSO, c.handlers);
      call.write(encodeTsoRequest(prefix, 1));
      expect(await c.ended).toBeUndefined();
      // The response sent before the end was delivered first.
      expect(c.responses.map((r) => r.count)).toEqual([1]);
    } finally {
      connections.close();
      await server.stop();
    }
  });

  test('cancel() cancels the call on the server and reports nothing afterwards', async () => {
    let serverCall: TsoCall | undefined;
    let gotRequest: () => void = () => {};
    const requested = new Promise<void>((r) => {
      gotRequest = r;
    });
    const server = await startServer((call) => {
      serverCall = call;
      call.on('data', () => gotRequest());
    });
    const connections = new PdConnections(undefined);
    try {
      let reported = 0;
      const call = connections.openBidiCall(server.url, TSO, {
        onResponse: () => reported++,
        onEnd: () => reported++,
      });
      call.write(encodeTsoRequest(prefix, 1));
      await requested;
      const cancelled = once(serverCall as TsoCall, 'cancelled');
      call.cancel();
      call.cancel();
      await cancelled;
      expect(reported).toBe(0);
    } finally {
      connections.close();
      await server.stop();
    }
  });
});
