import { once } from 'node:events';
import { createServer, type Http2Session, type Settings } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Client, credentials } from '@grpc/grpc-js';
import { channelOptionsFor } from './store-connection-pool.js';
import { DEFAULT_TRANSPORT_OPTIONS, resolveTransportOptions } from './transport-options.js';

/**
 * What a store sees of a client connection's flow control: the stream window the client's
 * SETTINGS grant, and the connection window once the client's WINDOW_UPDATE has arrived.
 */
async function windowsSeenByServer(
  options: typeof DEFAULT_TRANSPORT_OPTIONS,
): Promise<{ streamWindow: number | undefined; connectionWindow: number | undefined }> {
  const server = createServer();
  const sessions: Http2Session[] = [];
  const settings = new Promise<{ session: Http2Session; remote: Settings }>((resolve) => {
    server.on('session', (session) => {
      sessions.push(session);
      session.once('remoteSettings', (remote) => resolve({ session, remote }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), channelOptionsFor(options, 0));
  try {
    await new Promise<void>((resolve, reject) =>
      client.waitForReady(Date.now() + 10_000, (e) => (e ? reject(e) : resolve())),
    );
    const { session, remote } = await settings;
    // The client sent its WINDOW_UPDATE before it became ready: a ping answered after it
    // proves the server has read it.
    await new Promise<void>((resolve, reject) => session.ping((e) => (e ? reject(e) : resolve())));
    return { streamWindow: remote.initialWindowSize, connectionWindow: session.state.remoteWindowSize };
  } finally {
    client.close();
    for (const s of sessions) s.destroy();
    server.close();
  }
}

describe('flow-control window (client-go grpc-initial-window-size)', () => {
  it('grants a store 128 MiB per stream and per connection by default', async () => {
    expect(DEFAULT_TRANSPORT_OPTIONS.initialWindowSizeBytes).toBe(128 * 1024 * 1024);
    const seen = await windowsSeenByServer(DEFAULT_TRANSPORT_OPTIONS);
    expect(seen.streamWindow).toBe(128 * 1024 * 1024);
    expect(seen.connectionWindow).toBe(128 * 1024 * 1024);
  });

  it('takes a smaller window from the options, and refuses what HTTP/2 cannot express', async () => {
    const seen = await windowsSeenByServer(resolveTransportOptions({ initialWindowSizeBytes: 1024 * 1024 }));
    expect(seen.streamWindow).toBe(1024 * 1024);
    expect(seen.connectionWindow).toBe(1024 * 1024);
    expect(() => resolveTransportOptions({ initialWindowSizeBytes: 2 ** 31 })).toThrow(
      /initialWindowSizeBytes/,
    );
    expect(() => resolveTransportOptions({ initialWindowSizeBytes: 0 })).toThrow(/initialWindowSizeBytes/);
  });
});
