import type { IncomingMessage, ServerResponse } from 'node:http';

const U64_MAX = (1n << 64n) - 1n;

/** What PD's HTTP API is answered from. */
export interface PdHttpApiDeps {
  /** Every store id the cluster knows, and whether PD counts it for min resolved ts (up). */
  stores(): readonly { readonly id: bigint; readonly available: boolean }[];
  /** The smallest resolved ts of a store's regions (what the store reports to PD). */
  storeMinResolvedTs(storeId: bigint): bigint;
}

/** JSON with u64 numbers written exactly (PD's Go encoder writes them as plain numbers). */
function u64Json(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `@@${v}@@` : v)).replace(
    /"@@(\d+)@@"/g,
    '$1',
  );
}

/**
 * The part of PD's HTTP API the client uses (PD's `server/api`), served on the PD members' own
 * ports (a plaintext member tells HTTP/1.1 from gRPC by the first bytes, as PD's cmux does):
 *
 * - `GET /pd/api/v1/min-resolved-ts[?scope=cluster|<id>,<id>]`: the cluster's min resolved ts
 *   (never going back), or with a scope each store's and their minimum (an unknown or
 *   unavailable store counts as 2^64 - 1), `is_real_time: true` (PD's default persistence
 *   interval of 1 s);
 * - `GET /pd/api/v1/min-resolved-ts/<store_id>`: one store's.
 *
 * Anything else answers 404.
 */
export class PdHttpApi {
  readonly #d: PdHttpApiDeps;
  #clusterMin = 0n;

  constructor(deps: PdHttpApiDeps) {
    this.#d = deps;
  }

  #storeTs(id: bigint): bigint {
    const s = this.#d.stores().find((x) => x.id === id);
    if (s === undefined || !s.available) return U64_MAX;
    return this.#d.storeMinResolvedTs(id);
  }

  /** PD's `CheckAndUpdateMinResolvedTS`: the minimum over available stores, never going back. */
  #clusterMinResolvedTs(): bigint {
    let min = U64_MAX;
    for (const s of this.#d.stores()) {
      if (!s.available) continue;
      const ts = this.#d.storeMinResolvedTs(s.id);
      if (ts < min) min = ts;
    }
    if (min !== U64_MAX && min > this.#clusterMin) this.#clusterMin = min;
    return this.#clusterMin;
  }

  /** The `http.RequestListener` of the API. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const [status, text] = this.#answer(req.method ?? 'GET', new URL(req.url ?? '/', 'http://pd'));
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(text);
  };

  /** The status and JSON body of one request. */
  #answer(method: string, url: URL): [number, string] {
    const badId = (id: string): [number, string] => [
      400,
      JSON.stringify(`strconv.ParseUint: parsing "${id}": invalid syntax`),
    ];
    if (method !== 'GET') return [405, '"method not allowed"'];
    const one = /^\/pd\/api\/v1\/min-resolved-ts\/([^/]+)$/.exec(url.pathname);
    if (one !== null) {
      const idText = one[1] as string;
      if (!/^\d+$/.test(idText)) return badId(idText);
      return [
        200,
        u64Json({
          is_real_time: true,
          min_resolved_ts: this.#storeTs(BigInt(idText)),
          persist_interval: '1s',
        }),
      ];
    }
    if (url.pathname !== '/pd/api/v1/min-resolved-ts') return [404, '"404 page not found"'];
    let minResolvedTs = this.#clusterMinResolvedTs();
    let stores: Record<string, bigint> | null = null;
    const scope = url.searchParams.get('scope') ?? '';
    if (scope !== '') {
      const ids = scope === 'cluster' ? this.#d.stores().map((s) => s.id.toString()) : scope.split(',');
      const bad = ids.find((id) => !/^\d+$/.test(id));
      if (bad !== undefined) return badId(bad);
      stores = {};
      let scopeMin = U64_MAX;
      for (const id of ids) {
        const ts = this.#storeTs(BigInt(id));
        stores[id] = ts;
        if (ts < scopeMin) scopeMin = ts;
      }
      if (scope !== 'cluster') minResolvedTs = scopeMin;
    }
    return [
      200,
      u64Json({
        is_real_time: true,
        min_resolved_ts: minResolvedTs,
        persist_interval: '1s',
        stores_min_resolved_ts: stores,
      }),
    ];
  }
}
