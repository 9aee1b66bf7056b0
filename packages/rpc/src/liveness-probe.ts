import { type ChannelCredentials, Client, Metadata, type ServiceError } from '@grpc/grpc-js';
import { type Clock, raceSignal } from '@tikv/common';
import { health } from '@tikv/proto';
import type { Liveness } from '@tikv/region-cache';

/** How long one liveness probe may take, in milliseconds (client-go `storeLivenessTimeout`). */
export const DEFAULT_LIVENESS_TIMEOUT_MS = 1_000;

/** Options of one liveness probe. */
export interface LivenessProbeOptions {
  /** Stops waiting; the shared probe goes on for other callers. */
  readonly signal?: AbortSignal | undefined;
  /** Milliseconds the probe may take. @defaultValue {@link DEFAULT_LIVENESS_TIMEOUT_MS} */
  readonly timeoutMs?: number | undefined;
}

const CHECK_PATH = `/${health.HealthDefinition.fullName}/${health.HealthDefinition.methods.check.name}`;
const encodeCheck = (req: health.HealthCheckRequest): Buffer =>
  Buffer.from(health.HealthCheckRequest.encode(req).finish());
const decodeCheck = (b: Buffer): health.HealthCheckResponse => health.HealthCheckResponse.decode(b);

/** Maps a health answer to a liveness (client-go `invokeKVStatusAPI`). */
function livenessOf(status: health.HealthCheckResponse_ServingStatus): Liveness {
  const S = health.HealthCheckResponse_ServingStatus;
  if (status === S.UNKNOWN || status === S.SERVICE_UNKNOWN) return 'unknown';
  return status === S.SERVING ? 'reachable' : 'unreachable';
}

/**
 * Probes stores with the gRPC health check TiKV serves (client-go `requestLiveness`): each probe
 * dials its own short-lived connection, so a store's broken pool cannot answer for it, and
 * concurrent probes of one address share one call (client-go's singleflight). A failed call or a
 * timeout means `unreachable`; `UNKNOWN` / `SERVICE_UNKNOWN` mean `unknown`.
 */
export class LivenessProber {
  readonly #inflight = new Map<string, Promise<Liveness>>();

  /**
   * @param credentials - the transport's channel credentials
   * @param clock - measures the timeout
   * @param channelOptions - extra grpc-js options (TLS name override)
   */
  constructor(
    private readonly credentials: ChannelCredentials,
    private readonly clock: Clock,
    private readonly channelOptions: Readonly<Record<string, string | number>> = {},
  ) {}

  /**
   * @param address - the store's `host:port`
   * @param options - signal and timeout
   * @returns the store's liveness
   */
  probe(address: string, options: LivenessProbeOptions = {}): Promise<Liveness> {
    let p = this.#inflight.get(address);
    if (p === undefined) {
      p = this.#check(address, options.timeoutMs ?? DEFAULT_LIVENESS_TIMEOUT_MS).finally(() =>
        this.#inflight.delete(address),
      );
      this.#inflight.set(address, p);
    }
    return raceSignal(p, options.signal);
  }

  #check(address: string, timeoutMs: number): Promise<Liveness> {
    return new Promise<Liveness>((resolve) => {
      const client = new Client(address, this.credentials, {
        ...this.channelOptions,
        'grpc.use_local_subchannel_pool': 1,
        'grpc.enable_retries': 0,
      });
      let done = false;
      const finish = (l: Liveness): void => {
        if (done) return;
        done = true;
        this.clock.clearTimer(timer);
        client.close();
        resolve(l);
      };
      const call = client.makeUnaryRequest(
        CHECK_PATH,
        encodeCheck,
        decodeCheck,
        { service: '' },
        new Metadata(),
        {},
        (error: ServiceError | null, res?: health.HealthCheckResponse) => {
          finish(error === null && res !== undefined ? livenessOf(res.status) : 'unreachable');
        },
      );
      const timer = this.clock.setTimer(
        timeoutMs,
        () => {
          call.cancel();
          finish('unreachable');
        },
        undefined,
      );
    });
  }
}
