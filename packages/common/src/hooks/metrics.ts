/** Label values of one metric sample, by label name. Never put keys or values here. */
export type MetricLabels = Readonly<Record<string, string>>;

/**
 * Where the client reports metrics. Implement it to feed any metrics system
 * (a Prometheus adapter maps names to `prom-client` counters and histograms);
 * the default is {@link noopMetrics}.
 *
 * Metric names are snake_case with a unit suffix (`_seconds`, `_bytes`,
 * `_total`), as in {@link METRIC_NAMES}.
 */
export interface MetricsHook {
  /**
   * Adds to a counter.
   * @param name - the counter's name
   * @param labels - the sample's labels
   * @param value - how much to add (default 1)
   */
  incCounter(name: string, labels?: MetricLabels, value?: number): void;
  /**
   * Records one observation in a histogram.
   * @param name - the histogram's name
   * @param value - the observed value, in the unit the name states
   * @param labels - the sample's labels
   */
  observeHistogram(name: string, value: number, labels?: MetricLabels): void;
  /**
   * Sets a gauge.
   * @param name - the gauge's name
   * @param value - the new value
   * @param labels - the sample's labels
   */
  setGauge(name: string, value: number, labels?: MetricLabels): void;
}

const ignore = (): void => {};

/** A metrics hook that records nothing: the default of every `metrics` option. */
export const noopMetrics: MetricsHook = Object.freeze({
  incCounter: ignore,
  observeHistogram: ignore,
  setGauge: ignore,
});

/** Names of the metrics this package reports. */
export const METRIC_NAMES = Object.freeze({
  /** Histogram of backoff sleeps in seconds, label `type` = backoff kind name (client-go `tikv_client_go_backoff_seconds`). */
  backoffSeconds: 'tikv_client_backoff_seconds',
} as const);
