// The region executor's tests run on @tikv/testing's key space (regions with epochs, a locator
// whose cache goes stale on `split` until a region error refreshes it) with a sender that
// answers with the region errors TiKV would (or ones a test injects) and otherwise lets a test
// decide.
import type { Backoffer } from '@tikv/common';
import type { errorpb } from '@tikv/proto';
import type { RegionVerId } from '@tikv/region-cache';
import { FakeKeySpace, regionHolds } from '@tikv/testing';
import type { RegionSender } from '../src/region-sender.js';
import type { RegionRequestOptions } from '../src/request-options.js';
import type { ResponseFor, TikvRequest } from '../src/tikv-commands.js';

export { driveClock as drive } from '@tikv/testing';

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** The keys a request carries, as strings. */
export function keysOf(request: TikvRequest): string[] {
  return touched(request).map(dec);
}

/** One request the sender saw. */
export interface Sent {
  readonly request: TikvRequest;
  readonly region: RegionVerId;
  readonly bo: Backoffer;
  readonly options: RegionRequestOptions | undefined;
}

/** The keys a request carries (RawBatchGet, RawBatchPut, RawGet...): the KeyNotInRegion check. */
function touched(request: TikvRequest): Uint8Array[] {
  const v = request.value as {
    keys?: Uint8Array[];
    pairs?: { key: Uint8Array }[];
    key?: Uint8Array;
  };
  if (v.keys !== undefined) return v.keys;
  if (v.pairs !== undefined) return v.pairs.map((p) => p.key);
  if (v.key !== undefined) return [v.key];
  return [];
}

export class Keyspace extends FakeKeySpace {
  readonly sent: Sent[] = [];
  /** Region errors to answer with, consumed one per matching request. */
  readonly regionErrors: { regionId?: bigint; key?: string; error: errorpb.DeepPartial<errorpb.Error> }[] =
    [];
  /** Called on each request that passes the region checks; its value is the response's. */
  answer: (sent: Sent) => Promise<object> | object = () => ({});

  readonly sender: RegionSender = {
    sendRequest: async <R extends TikvRequest>(
      bo: Backoffer,
      request: R,
      region: RegionVerId,
      options?: RegionRequestOptions,
    ): Promise<ResponseFor<R>> => {
      const sent: Sent = { request, region, bo, options };
      this.sent.push(sent);
      if (bo.signal?.aborted) throw bo.signal.reason;
      const wrap = (value: object) => ({ $case: request.$case, value }) as unknown as ResponseFor<R>;
      const keys = touched(request);
      const injected = this.regionErrors.findIndex(
        (e) =>
          (e.regionId === undefined || e.regionId === region.id) &&
          (e.key === undefined || keys.some((k) => dec(k) === e.key)),
      );
      if (injected >= 0) {
        const [e] = this.regionErrors.splice(injected, 1);
        return wrap({ regionError: { message: 'injected', ...e?.error } });
      }
      const current = this.currentRegion(region);
      if (current === undefined) {
        return wrap({ regionError: { message: 'epoch not match', epochNotMatch: { currentRegions: [] } } });
      }
      if (!keys.every((k) => regionHolds(current, k))) {
        return wrap({ regionError: { message: 'key not in region', keyNotInRegion: {} } });
      }
      return wrap(await this.answer(sent));
    },
  };
}

/** A promise and the function that resolves it. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
