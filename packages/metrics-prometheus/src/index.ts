export {
  DEFAULT_TIKV_METRICS_OPTIONS,
  registerTikvMetrics,
  type TikvMetrics,
  type TikvMetricsOptions,
} from './register-tikv-metrics.js';
