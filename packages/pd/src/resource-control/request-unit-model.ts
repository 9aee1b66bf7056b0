/** The RU cost model (PD client `RequestUnitConfig`, client-go's defaults). */
export interface RequestUnitConfig {
  /** RU of one read request. @defaultValue 0.125 */
  readonly readBaseCost: number;
  /** RU of one read batch, scaled by {@link RequestUnitConfig.avgBatchProportion}. @defaultValue 0.5 */
  readonly readPerBatchBaseCost: number;
  /** RU per byte read (1 RU = 64 KiB). @defaultValue 1 / 65536 */
  readonly readCostPerByte: number;
  /** RU of one write request. @defaultValue 1 */
  readonly writeBaseCost: number;
  /** RU of one write batch, scaled by {@link RequestUnitConfig.avgBatchProportion}. @defaultValue 1 */
  readonly writePerBatchBaseCost: number;
  /** RU per byte written (1 RU = 1 KiB). @defaultValue 1 / 1024 */
  readonly writeCostPerByte: number;
  /** RU per ms of TiKV CPU (1 RU = 3 ms). @defaultValue 1 / 3 */
  readonly cpuMsCost: number;
  /** The share of requests that come in batches, for the per-batch costs. @defaultValue 0.7 */
  readonly avgBatchProportion: number;
}

/** Defaults of {@link RequestUnitConfig} (PD client `DefaultRequestUnitConfig`). */
export const DEFAULT_REQUEST_UNIT_CONFIG: RequestUnitConfig = Object.freeze({
  readBaseCost: 1 / 8,
  readPerBatchBaseCost: 1 / 2,
  readCostPerByte: 1 / (64 * 1024),
  writeBaseCost: 1,
  writePerBatchBaseCost: 1,
  writeCostPerByte: 1 / 1024,
  cpuMsCost: 1 / 3,
  avgBatchProportion: 0.7,
});

/** What a request costs before it is sent (client-go `resourcecontrol.RequestInfo`). */
export interface KvRequestInfo {
  readonly isWrite: boolean;
  /** Bytes a write carries (mutations and lock keys of prewrite, keys of commit; 0 for raw writes). */
  readonly writeBytes: number;
  /** Replicas a write goes to (0: unknown, counted as 1). */
  readonly replicaNumber: number;
  /** Left out of resource control (internal `others` requests). */
  readonly bypass: boolean;
}

/** What a response says it cost (client-go `resourcecontrol.ResponseInfo`). */
export interface KvResponseInfo {
  /** Bytes TiKV read (scan detail's processed versions size, or the scan's size). */
  readonly readBytes: number;
  /** TiKV's processing wall time, in ms. */
  readonly kvCpuMs: number;
  /** False when the request failed (a write's cost is paid back). */
  readonly succeeded: boolean;
}

/** Request units and what they were spent on (the fields of `resource_manager.Consumption` the model fills). */
export interface RuConsumption {
  rRU: number;
  wRU: number;
  readBytes: number;
  writeBytes: number;
  totalCpuTimeMs: number;
  kvReadRpcCount: number;
  kvWriteRpcCount: number;
}

/** An empty {@link RuConsumption}. */
export function emptyConsumption(): RuConsumption {
  return {
    rRU: 0,
    wRU: 0,
    readBytes: 0,
    writeBytes: 0,
    totalCpuTimeMs: 0,
    kvReadRpcCount: 0,
    kvWriteRpcCount: 0,
  };
}

/** Adds `b` into `a`. */
export function addConsumption(a: RuConsumption, b: RuConsumption): void {
  a.rRU += b.rRU;
  a.wRU += b.wRU;
  a.readBytes += b.readBytes;
  a.writeBytes += b.writeBytes;
  a.totalCpuTimeMs += b.totalCpuTimeMs;
  a.kvReadRpcCount += b.kvReadRpcCount;
  a.kvWriteRpcCount += b.kvWriteRpcCount;
}

/** `a - b`, field by field. */
export function consumptionDelta(a: RuConsumption, b: RuConsumption): RuConsumption {
  return {
    rRU: a.rRU - b.rRU,
    wRU: a.wRU - b.wRU,
    readBytes: a.readBytes - b.readBytes,
    writeBytes: a.writeBytes - b.writeBytes,
    totalCpuTimeMs: a.totalCpuTimeMs - b.totalCpuTimeMs,
    kvReadRpcCount: a.kvReadRpcCount - b.kvReadRpcCount,
    kvWriteRpcCount: a.kvWriteRpcCount - b.kvWriteRpcCount,
  };
}

/** The RU of a consumption (read + write). */
export function requestUnits(c: RuConsumption): number {
  return c.rRU + c.wRU;
}

/**
 * What a request costs before it is sent (PD client `KVCalculator.BeforeKVRequest`): a write
 * its base and per-batch cost plus its bytes, per replica; a read its base and per-batch cost.
 */
export function costBeforeRequest(cfg: RequestUnitConfig, req: KvRequestInfo): RuConsumption {
  const c = emptyConsumption();
  if (req.isWrite) {
    c.kvWriteRpcCount = 1;
    c.writeBytes = req.writeBytes;
    const replicas = req.replicaNumber > 0 ? req.replicaNumber : 1;
    c.wRU =
      (cfg.writeBaseCost +
        cfg.writePerBatchBaseCost * cfg.avgBatchProportion +
        cfg.writeCostPerByte * req.writeBytes) *
      replicas;
  } else {
    c.kvReadRpcCount = 1;
    c.rRU = cfg.readBaseCost + cfg.readPerBatchBaseCost * cfg.avgBatchProportion;
  }
  return c;
}

/**
 * What a response adds (PD client `KVCalculator.AfterKVRequest`): a read its TiKV CPU time;
 * every request the bytes read; a failed write pays back its base and byte cost.
 */
export function costAfterResponse(
  cfg: RequestUnitConfig,
  req: KvRequestInfo,
  res: KvResponseInfo,
): RuConsumption {
  const c = emptyConsumption();
  if (!req.isWrite) {
    c.totalCpuTimeMs = res.kvCpuMs;
    c.rRU += cfg.cpuMsCost * res.kvCpuMs;
  } else if (!res.succeeded) {
    c.writeBytes -= req.writeBytes;
    c.wRU -= cfg.writeBaseCost + cfg.writeCostPerByte * req.writeBytes;
  }
  c.readBytes += res.readBytes;
  c.rRU += cfg.readCostPerByte * res.readBytes;
  return c;
}
