import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type TlsOptions } from '@tikv/common';
import { ApiVersion } from '@tikv/keyspace';
import { Encoding } from './encoding.js';
import { messageOf } from './error-line.js';

/** The options every command takes, as commander hands them over. */
export interface RawGlobalFlags {
  readonly pd?: readonly string[] | undefined;
  readonly apiVersion?: string | undefined;
  readonly keyspace?: string | undefined;
  readonly ca?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly embedded?: boolean | undefined;
  readonly json?: boolean | undefined;
  readonly hex?: boolean | undefined;
  readonly base64?: boolean | undefined;
  readonly verbose?: boolean | undefined;
  readonly timeoutMs?: number | undefined;
}

/** The global options, checked and defaulted. */
export interface GlobalOptions {
  /** PD endpoints from `--pd` or `TIKV_PD_ENDPOINTS`; empty with `--embedded`. */
  readonly pdEndpoints: readonly string[];
  readonly apiVersion: ApiVersion;
  /** API V2 keyspace name. */
  readonly keyspace: string | undefined;
  readonly tls: TlsOptions | undefined;
  /** Start a mock cluster in-process instead of connecting to one. */
  readonly embedded: boolean;
  readonly json: boolean;
  readonly encoding: Encoding;
  readonly verbose: boolean;
  /** Bound of the connection and of each operation, in milliseconds. */
  readonly timeoutMs: number;
}

/** Default of `--timeout-ms`. */
export const DEFAULT_CLI_TIMEOUT_MS = 20_000;

function readPem(path: string | undefined, flag: string): string | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const why = messageOf(e);
    throw new InvalidArgumentError(`cannot read the ${flag} file: ${why}`);
  }
}

/**
 * Checks and defaults the global flags.
 *
 * @param flags - what commander parsed
 * @param env - the environment (`TIKV_PD_ENDPOINTS`)
 * @throws InvalidArgumentError for contradicting or bad flags
 */
export function resolveGlobalOptions(
  flags: RawGlobalFlags,
  env: Readonly<Record<string, string | undefined>>,
): GlobalOptions {
  if (flags.hex === true && flags.base64 === true) {
    throw new InvalidArgumentError('--hex and --base64 cannot be combined');
  }
  const encoding =
    flags.hex === true ? Encoding.HEX : flags.base64 === true ? Encoding.BASE64 : Encoding.UTF8;
  const keyspace = flags.keyspace === '' ? undefined : flags.keyspace;
  let apiVersion: ApiVersion;
  if (flags.apiVersion === undefined) apiVersion = keyspace === undefined ? ApiVersion.V1 : ApiVersion.V2;
  else if (flags.apiVersion === '1' || flags.apiVersion.toUpperCase() === 'V1') apiVersion = ApiVersion.V1;
  else if (flags.apiVersion === '2' || flags.apiVersion.toUpperCase() === 'V2') apiVersion = ApiVersion.V2;
  else throw new InvalidArgumentError(`--api-version must be 1 or 2, got '${flags.apiVersion}'`);
  if (keyspace !== undefined && apiVersion !== ApiVersion.V2) {
    throw new InvalidArgumentError('--keyspace needs API V2 (--api-version 2)');
  }
  const embedded = flags.embedded === true;
  const fromFlags = (flags.pd ?? []).flatMap(splitEndpoints);
  const pdEndpoints = fromFlags.length > 0 ? fromFlags : splitEndpoints(env.TIKV_PD_ENDPOINTS ?? '');
  if (embedded && fromFlags.length > 0) {
    throw new InvalidArgumentError('--embedded starts its own cluster: leave out --pd');
  }
  const caPem = readPem(flags.ca, '--ca');
  const certPem = readPem(flags.cert, '--cert');
  const keyPem = readPem(flags.key, '--key');
  if ((certPem === undefined) !== (keyPem === undefined)) {
    throw new InvalidArgumentError('--cert and --key go together');
  }
  const anyTls = caPem !== undefined || certPem !== undefined;
  if (embedded && anyTls)
    throw new InvalidArgumentError('--embedded serves plaintext: leave out --ca, --cert and --key');
  const timeoutMs = flags.timeoutMs ?? DEFAULT_CLI_TIMEOUT_MS;
  return {
    pdEndpoints: embedded ? [] : pdEndpoints,
    apiVersion,
    keyspace,
    tls: anyTls ? { caPem, certPem, keyPem } : undefined,
    embedded,
    json: flags.json === true,
    encoding,
    verbose: flags.verbose === true,
    timeoutMs,
  };
}

/** `a:1,b:2` as `['a:1', 'b:2']`. */
export function splitEndpoints(list: string): string[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
