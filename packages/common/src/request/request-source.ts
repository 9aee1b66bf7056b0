/**
 * Request sources (client-go `util.RequestSource`): the `Context.request_source` label TiKV uses in
 * its metrics and resource control, `<origin>_<type>[_<explicit type>]`.
 */

/** Internal transaction types client-go names (`InternalTxnGC`, ...). */
export const InternalTxnType = Object.freeze({
  OTHERS: 'others',
  GC: 'gc',
  META: 'others',
  STATS: 'stats',
} as const);

/** Explicit source types of tools (client-go `ExplicitType*`). */
export const ExplicitRequestSourceType = Object.freeze({
  EMPTY: '',
  LIGHTNING: 'lightning',
  BR: 'br',
  DUMPLING: 'dumpling',
  BACKGROUND: 'background',
  DDL: 'ddl',
  STATS: 'stats',
  IMPORT: 'import',
} as const);

/** What a request source says. */
export interface RequestSourceParts {
  /** Sent by the client itself (GC, lock resolution, statistics) rather than for a user. @defaultValue false */
  readonly internal?: boolean | undefined;
  /** What kind of work (`gc`, `Insert`, ...). @defaultValue none */
  readonly type?: string | undefined;
  /** The tool or task behind it ({@link ExplicitRequestSourceType}). @defaultValue none */
  readonly explicitType?: string | undefined;
}

/**
 * The `request_source` label of these parts (client-go `BuildRequestSource` /
 * `GetRequestSource`): `unknown` with neither type; otherwise `internal_` or `external_`, the type
 * (`unknown` when only the explicit one is set), and the explicit type when it differs.
 *
 * @example
 * ```ts
 * buildRequestSource({ internal: true, type: 'gc' });                        // 'internal_gc'
 * buildRequestSource({ type: 'import', explicitType: 'lightning' });         // 'external_import_lightning'
 * ```
 */
export function buildRequestSource(parts: RequestSourceParts | undefined): string {
  const type = parts?.type ?? '';
  const explicit = parts?.explicitType ?? '';
  if (type === '' && explicit === '') return 'unknown';
  const labels = [parts?.internal === true ? 'internal' : 'external', type === '' ? 'unknown' : type];
  if (explicit !== '' && explicit !== type) labels.push(explicit);
  return labels.join('_');
}

/** Whether a request source label is an internal one (client-go `IsInternalRequest`). */
export function isInternalRequestSource(source: string): boolean {
  return source.startsWith('internal');
}
