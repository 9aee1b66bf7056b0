import { credentials, status } from '@grpc/grpc-js';
import { isTiKVError } from '@tikv/common';
import { RpcError, rpcErrorFrom } from './rpc-error.js';
import { CONNECTION_INDEX_OPTION, channelCredentials, channelOptionsFor } from './store-connection-pool.js';
import { DEFAULT_TRANSPORT_OPTIONS, resolveTransportOptions } from './transport-options.js';

describe('transport options', () => {
  it('defaults to client-go config.DefaultTiKVClient', () => {
    const o = resolveTransportOptions();
    expect(o).toMatchObject({
      connectionsPerStore: 4,
      maxBatchSize: 128,
      maxBatchWaitMs: 0,
      batchWaitSize: 8,
      overloadThreshold: 200,
      keepaliveIntervalMs: 10_000,
      keepaliveTimeoutMs: 3_000,
      idleTimeoutMs: 180_000,
    });
    expect(Object.isFrozen(o)).toBe(true);
    expect(resolveTransportOptions({ maxBatchSize: undefined }).maxBatchSize).toBe(128);
    expect(resolveTransportOptions({ maxBatchSize: 0 }).maxBatchSize).toBe(0);
  });

  it('rejects invalid values', () => {
    for (const bad of [
      { connectionsPerStore: 0 },
      { maxBatchSize: -1 },
      { keepaliveIntervalMs: 0 },
      { batchWaitSize: 1.5 },
    ]) {
      let err: unknown;
      try {
        resolveTransportOptions(bad);
      } catch (e) {
        err = e;
      }
      expect(isTiKVError(err, 'INVALID_ARGUMENT')).toBe(true);
    }
  });

  it('gives each connection of a store distinct channel options, with keepalive and limits', () => {
    const o = resolveTransportOptions({
      maxReceiveMessageBytes: 1024,
      channelOptions: { 'grpc.primary_user_agent': 'x' },
    });
    const a = channelOptionsFor(o, 0);
    const b = channelOptionsFor(o, 1);
    expect(a[CONNECTION_INDEX_OPTION]).toBe(0);
    expect(b[CONNECTION_INDEX_OPTION]).toBe(1);
    expect(a).toMatchObject({
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 3_000,
      'grpc.max_receive_message_length': 1024,
      'grpc.primary_user_agent': 'x',
    });
    // Finite by default (issue 10): a faulty store cannot make the client buffer anything.
    expect(DEFAULT_TRANSPORT_OPTIONS.maxReceiveMessageBytes).toBe(2 ** 31 - 1);
    expect(channelOptionsFor(DEFAULT_TRANSPORT_OPTIONS, 0)['grpc.max_receive_message_length']).toBe(
      2 ** 31 - 1,
    );
    const unlimited = resolveTransportOptions({ maxReceiveMessageBytes: 0 });
    expect(channelOptionsFor(unlimited, 0)['grpc.max_receive_message_length']).toBe(-1);
    expect(DEFAULT_TRANSPORT_OPTIONS.maxBatchBytes).toBe(10 * 1024 * 1024);
    expect(() => resolveTransportOptions({ maxBatchBytes: 0 })).toThrow(/maxBatchBytes/);
    const tls = resolveTransportOptions({ tls: { caPem: 'ca', serverNameOverride: 'tikv' } });
    expect(channelOptionsFor(tls, 0)['grpc.ssl_target_name_override']).toBe('tikv');
  });

  it('builds plaintext, TLS or caller-supplied credentials', () => {
    expect(channelCredentials({ credentials: undefined, tls: undefined })._isSecure()).toBe(false);
    const own = credentials.createInsecure();
    expect(channelCredentials({ credentials: own, tls: undefined })).toBe(own);
    // grpc-js parses PEM lazily; an empty CA buffer is accepted here
    expect(channelCredentials({ credentials: undefined, tls: { caPem: new Uint8Array() } })._isSecure()).toBe(
      true,
    );
  });
});

describe('RpcError', () => {
  it('is retryable unless the status says the request itself is wrong', () => {
    const unavailable = rpcErrorFrom({ code: status.UNAVAILABLE, details: 'down' }, 's:1', 'RawGet', false);
    expect(unavailable).toBeInstanceOf(RpcError);
    expect(unavailable).toMatchObject({
      code: 'RPC_ERROR',
      retryable: true,
      grpcCode: 14,
      address: 's:1',
      command: 'RawGet',
    });
    expect(unavailable.message).toContain('UNAVAILABLE');
    expect(unavailable.message).toContain('down');
    expect(rpcErrorFrom({ code: status.UNIMPLEMENTED, message: 'no' }, 's:1', 'X', true).retryable).toBe(
      false,
    );
    const plain = rpcErrorFrom('boom', 's:1', undefined, false);
    expect(plain).toMatchObject({ retryable: true, grpcCode: undefined, requestSent: false });
    expect(plain.message).toContain('boom');
  });
});
