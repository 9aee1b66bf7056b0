import { ManualClock, noopLogger } from '@tikv/common';
import { pdpb } from '@tikv/proto';
import { ClientError, Status } from 'nice-grpc';
import { ServiceMode, ServiceModeWatcher } from './service-mode-watcher.js';

const signal = new AbortController().signal;

function watcher(fetch: () => Promise<pdpb.GetClusterInfoResponse>, onCheckFailed = () => {}) {
  return new ServiceModeWatcher(fetch, {
    intervalMs: 100,
    timeoutMs: 1000,
    clock: new ManualClock({ autoAdvance: true }),
    logger: noopLogger,
    onCheckFailed,
  });
}

const info = (modes: pdpb.ServiceMode[], tsoUrls: string[] = []) =>
  pdpb.GetClusterInfoResponse.fromPartial({ serviceModes: modes, tsoUrls });

describe('ServiceModeWatcher (PD checkServiceModeChanged)', () => {
  test('follows the first mode PD names and tells listeners of changes only', async () => {
    let resp = info([pdpb.ServiceMode.API_SVC_MODE], ['http://t:1']);
    const w = watcher(async () => resp);
    const seen: string[] = [];
    w.onModeChange((m) => seen.push(m));
    expect(w.mode).toBe(ServiceMode.PD);
    await w.check(signal);
    await w.check(signal);
    expect(w.mode).toBe(ServiceMode.API);
    expect(await w.tsoServerUrls(signal)).toEqual(['http://t:1']);
    resp = info([pdpb.ServiceMode.PD_SVC_MODE]);
    await w.check(signal);
    resp = info([pdpb.ServiceMode.UNKNOWN_SVC_MODE]);
    await w.check(signal);
    expect(seen).toEqual(['API', 'PD']);
  });

  test('UNIMPLEMENTED is an older PD serving TSO; no mode or a failure is an error', async () => {
    let fail: unknown = new ClientError('/pdpb.PD/GetClusterInfo', Status.UNIMPLEMENTED, 'no');
    const w = watcher(async () => {
      if (fail !== undefined) throw fail;
      return info([]);
    });
    await w.check(signal);
    expect(w.mode).toBe('PD');
    fail = new ClientError('/pdpb.PD/GetClusterInfo', Status.UNAVAILABLE, 'down');
    await expect(w.check(signal)).rejects.toThrow('UNAVAILABLE');
    fail = undefined;
    await expect(w.check(signal)).rejects.toThrow('no service mode');
  });

  test('the periodic check reports failures and stops on close', async () => {
    let calls = 0;
    let failed!: () => void;
    const reported = new Promise<void>((resolve) => {
      failed = resolve;
    });
    const w = watcher(
      async () => {
        calls++;
        throw new ClientError('/pdpb.PD/GetClusterInfo', Status.UNAVAILABLE, 'down');
      },
      () => failed(),
    );
    w.start();
    await reported;
    await w.close();
    expect(calls).toBeGreaterThan(0);
  });
});
