import {
  type Clock,
  type ClockTimer,
  InvalidArgumentError,
  type Logger,
  noopLogger,
  type RequestOptions,
  systemClock,
  TiKVError,
} from '@tikv/common';
import { resource_manager } from '@tikv/proto';
import { LocalTokenBucket } from './local-token-bucket.js';
import {
  addConsumption,
  consumptionDelta,
  costAfterResponse,
  costBeforeRequest,
  DEFAULT_REQUEST_UNIT_CONFIG,
  emptyConsumption,
  type KvRequestInfo,
  type KvResponseInfo,
  type RequestUnitConfig,
  type RuConsumption,
  requestUnits,
} from './request-unit-model.js';

/** What the controller needs of PD's resource manager (a `PdResourceManager` is one). */
export interface TokenBucketSource {
  acquireTokenBuckets(
    request: resource_manager.DeepPartial<resource_manager.TokenBucketsRequest>,
    options?: RequestOptions,
  ): Promise<resource_manager.TokenBucketResponse[]>;
}

/** Options of {@link ResourceGroupController}. */
export interface ResourceGroupControllerOptions {
  /** How often each group reports its consumption and renews its tokens, in ms (PD client `targetPeriod`). @defaultValue 5_000 */
  readonly targetPeriodMs?: number | undefined;
  /** Longest a request waits for tokens before it fails with `RESOURCE_GROUP_THROTTLED`, in ms (`LTBMaxWaitDuration`). @defaultValue 30_000 */
  readonly maxWaitMs?: number | undefined;
  /** Times a refused reservation is retried after asking PD for tokens (`WaitRetryTimes`). @defaultValue 20 */
  readonly waitRetryTimes?: number | undefined;
  /** The RU cost model. @defaultValue {@link DEFAULT_REQUEST_UNIT_CONFIG} */
  readonly ruConfig?: RequestUnitConfig | undefined;
  /** Identifies this client to PD's token slots. @defaultValue a random id */
  readonly clientUniqueId?: bigint | undefined;
  /** Times waits, refills and the report loop. @defaultValue the system clock */
  readonly clock?: Clock | undefined;
  /** Receives failed token requests. @defaultValue silent */
  readonly logger?: Logger | undefined;
}

/** Defaults of {@link ResourceGroupControllerOptions}. */
export const DEFAULT_RESOURCE_GROUP_CONTROLLER_OPTIONS = Object.freeze({
  targetPeriodMs: 5_000,
  maxWaitMs: 30_000,
  waitRetryTimes: 20,
});

/** Of a period's average demand, how much is asked for (PD client `needTokensAmplification`). */
const NEED_TOKENS_AMPLIFICATION = 1.1;
/** Share of a period's demand at which the bucket counts as low (PD client `notifyFraction`). */
const NOTIFY_FRACTION = 0.1;
/** Ask again this long before a trickle ends, in ms (PD client `trickleReserveDuration`). */
const TRICKLE_RESERVE_MS = 1_250;
/** Weight of the old value in the RU/s moving average (PD client `movingAvgFactor`). */
const MOVING_AVG_FACTOR = 0.5;
/** How often the RU/s average takes a sample, in ms (PD client `defaultGroupStateUpdateInterval`). */
const AVG_SAMPLE_INTERVAL_MS = 1_000;

/** One group's client-side state (PD client `groupCostController`). */
class GroupState {
  readonly bucket: LocalTokenBucket;
  readonly consumption = emptyConsumption();
  lastReported = emptyConsumption();
  lastReportMs: number;
  avgRuPerSec = 0;
  avgLastMs: number;
  avgLastRu = 0;
  /** RU waiting requests need beyond the tokens (asked for with the next request). */
  pendingDemand = 0;
  /** When the current trickle ends, and its rate (tokens left to come are carried into the next grant). */
  trickleEndMs = 0;
  trickleRate = 0;
  granted = false;

  constructor(nowMs: number, onLow: () => void) {
    this.bucket = new LocalTokenBucket(nowMs, onLow);
    this.lastReportMs = nowMs;
    this.avgLastMs = nowMs;
  }
}

function fetchTick(c: ResourceGroupController): void {
  c.onTimer();
}

/**
 * The request-unit (RU) controller of resource control (PD client `ResourceGroupsController`
 * as client-go installs it): each request of a resource group is costed with PD's RU model
 * before it is sent and after it returns (bytes, TiKV CPU time), paid from the group's local
 * token bucket, and throttled when the bucket is empty: it waits until the tokens would be
 * there, and fails fast with `RESOURCE_GROUP_THROTTLED` when that is longer than `maxWaitMs`.
 * Tokens come from PD's resource manager (`AcquireTokenBuckets`): asked for when a bucket runs
 * low, when a trickled grant is about to end and every `targetPeriodMs` (reporting what was
 * consumed), in amounts that follow the group's average RU/s. Install it on requests with
 * {@link resourceControlInterceptor}.
 */
export class ResourceGroupController {
  readonly #source: TokenBucketSource;
  readonly #o: {
    readonly targetPeriodMs: number;
    readonly maxWaitMs: number;
    readonly waitRetryTimes: number;
    readonly ruConfig: RequestUnitConfig;
    readonly clientUniqueId: bigint;
    readonly clock: Clock;
    readonly logger: Logger;
  };
  readonly #groups = new Map<string, GroupState>();
  #fetching: Promise<void> | undefined;
  #fetchAgain = false;
  #timer: ClockTimer | undefined;
  #running = false;
  readonly #stop = new AbortController();

  /**
   * @param source - PD's resource manager (`pd.resourceManager`)
   * @param options - target period, longest wait, RU model, clock and logger
   */
  constructor(source: TokenBucketSource, options: ResourceGroupControllerOptions = {}) {
    const d = DEFAULT_RESOURCE_GROUP_CONTROLLER_OPTIONS;
    this.#source = source;
    this.#o = Object.freeze({
      targetPeriodMs: options.targetPeriodMs ?? d.targetPeriodMs,
      maxWaitMs: options.maxWaitMs ?? d.maxWaitMs,
      waitRetryTimes: options.waitRetryTimes ?? d.waitRetryTimes,
      ruConfig: options.ruConfig ?? DEFAULT_REQUEST_UNIT_CONFIG,
      clientUniqueId: options.clientUniqueId ?? BigInt(Math.floor(Math.random() * 2 ** 53)),
      clock: options.clock ?? systemClock,
      logger: options.logger ?? noopLogger,
    });
    if (!(this.#o.targetPeriodMs > 0)) {
      throw new InvalidArgumentError(`targetPeriodMs must be > 0, got ${this.#o.targetPeriodMs}`);
    }
    if (!(this.#o.maxWaitMs >= 0))
      throw new InvalidArgumentError(`maxWaitMs must be >= 0, got ${this.#o.maxWaitMs}`);
  }

  /** Starts the periodic report loop (background timers). Idempotent. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#arm(this.#o.targetPeriodMs);
  }

  /** Stops the loop and waits for a token request in flight. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) this.#o.clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#stop.abort(new Error('resource group controller stopped'));
    await this.#fetching;
  }

  #arm(ms: number): void {
    if (!this.#running) return;
    if (this.#timer !== undefined) this.#o.clock.clearTimer(this.#timer);
    this.#timer = this.#o.clock.setTimer(ms, fetchTick, this, { background: true });
  }

  /** The report timer fired. @internal */
  onTimer(): void {
    this.#timer = undefined;
    void this.#requestTokens().finally(() => this.#arm(this.#o.targetPeriodMs));
  }

  /** What a group has consumed so far (RU, bytes, CPU, request counts). */
  consumption(group: string): Readonly<RuConsumption> {
    return { ...(this.#groups.get(group)?.consumption ?? emptyConsumption()) };
  }

  /** The tokens a group's local bucket holds now (negative: in debt). */
  availableTokens(group: string): number {
    return this.#groups.get(group)?.bucket.available(this.#o.clock.now()) ?? 0;
  }

  #group(name: string): GroupState {
    let g = this.#groups.get(name);
    if (g === undefined) {
      g = new GroupState(this.#o.clock.now(), () => this.#lowTokens());
      this.#groups.set(name, g);
    }
    return g;
  }

  #lowTokens(): void {
    void this.#requestTokens();
  }

  /**
   * Pays a request's cost before it is sent (PD client `OnRequestWait`): waits for the group's
   * tokens, asking PD for more when the bucket cannot cover it.
   *
   * @throws TiKVError `RESOURCE_GROUP_THROTTLED` when the tokens would not be there within
   *   `maxWaitMs` after the retries; the signal's reason when it aborts
   */
  async onRequestWait(group: string, info: KvRequestInfo, options?: RequestOptions): Promise<void> {
    if (info.bypass) return;
    const g = this.#group(group);
    const cost = costBeforeRequest(this.#o.ruConfig, info);
    const ru = requestUnits(cost);
    const clock = this.#o.clock;
    this.#sampleAvg(g, clock.now());
    for (let attempt = 0; ; attempt++) {
      if (!g.granted || this.#trickleEnding(g, clock.now())) await this.#requestTokens(g, ru);
      const r = g.bucket.reserve(clock.now(), ru, this.#o.maxWaitMs);
      if (r.ok) {
        addConsumption(g.consumption, cost);
        if (r.waitMs > 0) await clock.sleep(Math.ceil(r.waitMs), options?.signal);
        return;
      }
      if (attempt >= this.#o.waitRetryTimes) {
        throw new TiKVError(
          'RESOURCE_GROUP_THROTTLED',
          `resource group ${group} is throttled: ${ru.toFixed(2)} RU would take ${Math.ceil(r.waitMs)} ms (max ${this.#o.maxWaitMs} ms)`,
          true,
        );
      }
      g.pendingDemand = Math.max(g.pendingDemand, ru - g.bucket.available(clock.now()));
      await this.#requestTokens();
      options?.signal?.throwIfAborted();
    }
  }

  /** Charges what a response says the request cost (PD client `OnResponse`); never waits. */
  onResponse(group: string, info: KvRequestInfo, res: KvResponseInfo): void {
    if (info.bypass) return;
    const g = this.#group(group);
    const cost = costAfterResponse(this.#o.ruConfig, info, res);
    addConsumption(g.consumption, cost);
    const ru = requestUnits(cost);
    if (ru > 0) g.bucket.remove(this.#o.clock.now(), ru);
    else if (ru < 0)
      g.bucket.reconfigure(this.#o.clock.now(), {
        tokens: -ru,
        fillRate: g.bucket.fillRate,
        burst: 0,
        notifyThreshold: 0,
      });
  }

  /**
   * One `AcquireTokenBuckets` for every group that is low, waiting, or due to report (one in
   * flight at a time; a call meanwhile runs another after it).
   */
  #requestTokens(first?: GroupState, firstDemand = 0): Promise<void> {
    if (first !== undefined) first.pendingDemand = Math.max(first.pendingDemand, firstDemand);
    if (this.#fetching !== undefined) {
      this.#fetchAgain = true;
      return this.#fetching;
    }
    const run = this.#fetchOnce()
      .catch((e: unknown) => this.#o.logger.debug('resource control: token request failed', { error: e }))
      .finally(() => {
        this.#fetching = undefined;
        if (this.#fetchAgain && !this.#stop.signal.aborted) {
          this.#fetchAgain = false;
          void this.#requestTokens();
        }
      });
    this.#fetching = run;
    return run;
  }

  async #fetchOnce(): Promise<void> {
    const now = this.#o.clock.now();
    const periodSec = this.#o.targetPeriodMs / 1000;
    const names: string[] = [];
    const requests: resource_manager.DeepPartial<resource_manager.TokenBucketRequest>[] = [];
    for (const [name, g] of this.#groups) {
      const delta = consumptionDelta(g.consumption, g.lastReported);
      const elapsedSec = (now - g.lastReportMs) / 1000;
      const due = now - g.lastReportMs >= this.#o.targetPeriodMs;
      if (elapsedSec > 0) {
        const sample = requestUnits(delta) / elapsedSec;
        g.avgRuPerSec = g.granted
          ? MOVING_AVG_FACTOR * sample + (1 - MOVING_AVG_FACTOR) * g.avgRuPerSec
          : sample;
      }
      const low = !g.granted || g.bucket.isLow(now) || g.pendingDemand > 0 || this.#trickleEnding(g, now);
      if (!low && !due) continue;
      const want = Math.max(
        g.avgRuPerSec * periodSec * NEED_TOKENS_AMPLIFICATION - g.bucket.available(now),
        g.pendingDemand,
        0,
      );
      g.lastReported = { ...g.consumption };
      g.lastReportMs = now;
      g.pendingDemand = 0;
      names.push(name);
      requests.push({
        resourceGroupName: name,
        request: {
          $case: 'ruItems',
          value: { requestRU: [{ type: resource_manager.RequestUnitType.RU, value: want }] },
        },
        consumptionSinceLastRequest: delta,
      });
    }
    if (requests.length === 0) return;
    const responses = await this.#source.acquireTokenBuckets(
      {
        requests,
        targetRequestPeriodMs: BigInt(this.#o.targetPeriodMs),
        clientUniqueId: this.#o.clientUniqueId,
      },
      { signal: this.#stop.signal, timeoutMs: this.#o.targetPeriodMs },
    );
    const at = this.#o.clock.now();
    for (const resp of responses) {
      const g = this.#groups.get(resp.resourceGroupName);
      const grant = resp.grantedRUTokens.find((t) => t.type === resource_manager.RequestUnitType.RU);
      if (g === undefined || grant === undefined) continue;
      this.#applyGrant(g, grant, at);
    }
  }

  /**
   * The group's RU/s moving average, sampled at most once per {@link AVG_SAMPLE_INTERVAL_MS}
   * (PD client `calcAvg` on its one-second state update).
   */
  #sampleAvg(g: GroupState, now: number): void {
    const elapsedMs = now - g.avgLastMs;
    if (elapsedMs < AVG_SAMPLE_INTERVAL_MS) return;
    const ru = requestUnits(g.consumption);
    const sample = (ru - g.avgLastRu) / (elapsedMs / 1000);
    g.avgRuPerSec = MOVING_AVG_FACTOR * g.avgRuPerSec + (1 - MOVING_AVG_FACTOR) * sample;
    g.avgLastRu = ru;
    g.avgLastMs = now;
  }

  /** Whether the group's trickled grant ends within the reserve time (time to ask again). */
  #trickleEnding(g: GroupState, now: number): boolean {
    return g.trickleEndMs > 0 && now >= g.trickleEndMs - TRICKLE_RESERVE_MS;
  }

  /** PD client `modifyTokenCounter`: tokens at once, or a trickle over `trickleTimeMs`. */
  #applyGrant(g: GroupState, grant: resource_manager.GrantedRUTokenBucket, now: number): void {
    let tokens = grant.grantedTokens?.tokens ?? 0;
    const settings = grant.grantedTokens?.settings;
    const burst = Number(settings?.burstLimit ?? 0n);
    const settingsRate = Number(settings?.fillRate ?? 0n);
    // What the previous trickle had still to bring is granted again with this one.
    if (g.trickleEndMs > now) tokens += (g.trickleRate * (g.trickleEndMs - now)) / 1000;
    const trickleMs = Number(grant.trickleTimeMs);
    g.granted = true;
    if (trickleMs <= 0) {
      const threshold =
        Math.min(tokens + g.bucket.available(now), g.avgRuPerSec * (this.#o.targetPeriodMs / 1000)) *
        NOTIFY_FRACTION;
      g.trickleEndMs = 0;
      g.trickleRate = settingsRate;
      g.bucket.reconfigure(now, { tokens, fillRate: settingsRate, burst, notifyThreshold: threshold });
      return;
    }
    const rate = settingsRate + tokens / (trickleMs / 1000);
    g.trickleEndMs = now + trickleMs;
    g.trickleRate = rate;
    g.bucket.reconfigure(now, { tokens: 0, fillRate: rate, burst, notifyThreshold: 0 });
    // Ask again shortly before the trickle ends.
    const again =
      trickleMs > TRICKLE_RESERVE_MS ? trickleMs - TRICKLE_RESERVE_MS : (trickleMs + TRICKLE_RESERVE_MS) / 2;
    if (this.#running && again < this.#o.targetPeriodMs) this.#arm(again);
  }
}
