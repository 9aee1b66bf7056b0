export { errorReason } from './error-reason.js';
export {
  DEFAULT_INSTRUMENT_TIKV_OPTIONS,
  type InstrumentTikvOptions,
  instrumentTikv,
  type TikvInstrumentation,
  TXN_COMMIT_CHANNEL_NAME,
} from './instrument-tikv.js';
export { TIKV_ATTRIBUTES, TIKV_SPAN_NAMES } from './span-names.js';
