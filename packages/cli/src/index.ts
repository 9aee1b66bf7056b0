/**
 * `@tikv/cli`: the `tikv` command (RawKV and transactional operations, PD inspection, a
 * benchmark, a mock cluster). The package also exports {@link runCli}, to run a command line
 * in-process, and the pieces it prints with.
 *
 * @packageDocumentation
 */
export type { CliIo } from './cli-io.js';
export { decodeInput, Encoding, encodeOutput, escapeBytes } from './encoding.js';
export { errorLine } from './error-line.js';
export { formatMicros, LatencyHistogram, type LatencySummary } from './latency-histogram.js';
export { buildProgram, CLI_NAME, EXIT_FAILURE, EXIT_USAGE, runCli } from './program.js';
