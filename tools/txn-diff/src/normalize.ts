/**
 * Turns recorded answers into plain values that can be compared across two clusters: what
 * legitimately differs per run (absolute timestamps, region, peer and store ids, epochs, the
 * servers' prose) becomes a symbol, everything else stays as it was answered.
 *
 * - A timestamp (any u64 of TSO size) becomes the name the scenario gave it (`start1`), a small
 *   offset from the nearest one (`read1+1`, how min_commit_ts = max_ts + 1 shows), or its place
 *   between two named ones (`(start1..commit1)`); u64::MAX becomes `MAX`.
 * - Region, peer and store ids and epoch versions become ordinals in order of appearance
 *   (`R1`, `P1`, `S1`, `ver1`), so "the same region" and "another region" stay visible.
 * - Keys under the scenario's prefix print as `<k>name`; other bytes as escaped text.
 * - `abort` / `retryable` strings (TiKV's debug output of its error) become the error variant;
 *   region error `message`s become `<msg>`; enums print their names.
 */
import { decodeBytes } from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import type { Step } from './session.js';

/** A normalized value: JSON-like. */
export type Plain = string | number | boolean | null | Plain[] | { [k: string]: Plain };

const TSO_MIN = 1n << 50n;
const U64_MAX = (1n << 64n) - 1n;
const MAX_NAMED_OFFSET = 16n;

/** Fields that only carry the servers' measurements. */
const DROPPED = new Set(['execDetails', 'execDetailsV2', 'timeDetail', 'timeDetailV2', 'scanDetailV2']);

const PEER_PARENTS = new Set(['peer', 'leader', 'peers', 'targetPeer', 'downPeers', 'pendingPeers']);
const REGION_PARENTS = new Set(['region', 'regions', 'currentRegions', 'newRegion', 'left', 'right']);

/** Where ordinals are kept: one map per kind, per scenario and target. */
class Ordinals {
  readonly #maps = new Map<string, Map<string, number>>();

  of(kind: string, v: bigint): string {
    let m = this.#maps.get(kind);
    if (m === undefined) {
      m = new Map();
      this.#maps.set(kind, m);
    }
    const k = v.toString();
    let n = m.get(k);
    if (n === undefined) {
      n = m.size + 1;
      m.set(k, n);
    }
    return `${kind}${n}`;
  }
}

const WRAPPERS = new Set(['Error', 'Txn', 'Mvcc', 'Kv', 'Engine', 'Storage', 'Request', 'Other']);

/**
 * What an `abort` / `retryable` string (TiKV's debug output of its error) says, comparable
 * across runs and across the two servers' nesting of wrappers: the innermost error variant
 * (`TxnLockNotFound`), or for a free-text error (`Other`) its text without TiKV's source
 * location, with timestamps and region ids as `#` and byte arrays (keys) as `[..]`.
 */
export function errorText(message: string): string {
  if (message === '') return '';
  let rest = message;
  let variant = '';
  for (;;) {
    const m = /^([A-Z][A-Za-z0-9]*)\s*(\(|\{)\s*/.exec(rest);
    if (m === null) break;
    rest = rest.slice(m[0].length);
    if (!WRAPPERS.has(m[1]!)) {
      variant = m[1]!;
      break;
    }
    if (m[2] === '{') break;
  }
  if (variant !== '') return variant;
  // Free text: `Other("[file.rs:12]: text")`, `Other { message: text }`, or a bare message.
  let text = rest.replace(/^message:\s*/, '').replace(/[)}"\s]+$/, '');
  for (let t = ''; t !== text; ) {
    t = text;
    text = text.replace(/^\\?"?\[[^\]]*\.rs:\d+\]:\s*/, '');
  }
  // Free text that names a variant (`KeyTooLarge { size: .. }`) compares by that name.
  const named = /^([A-Z][A-Za-z0-9]*)\s*[({]/.exec(text);
  if (named !== null && !WRAPPERS.has(named[1]!)) return named[1]!;
  const masked = text
    .replace(/\[region \d+\]/g, '[region #]')
    .replace(/\d{6,}/g, '#')
    .replace(/\[(\d+, )*\d+\]/g, '[..]');
  return masked.length > 120 ? `${masked.slice(0, 120)}...` : masked;
}

const LONG_BYTES = 48;

function fnv1a(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

function printable(bytes: Uint8Array): string {
  // Long values print as their start, length and a hash: still compared in full.
  if (bytes.length > LONG_BYTES) {
    return `${printable(bytes.subarray(0, 16))}...[${bytes.length} bytes #${fnv1a(bytes)}]`;
  }
  let s = '';
  for (const b of bytes) {
    s +=
      b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return s;
}

function enumName(field: string, path: readonly string[], v: number): string | undefined {
  const named = (e: Record<number, string>) => e[v] ?? String(v);
  switch (field) {
    case 'lockType':
    case 'op':
      return named(kvrpcpb.Op);
    case 'action':
      return named(kvrpcpb.Action);
    case 'reason':
      return path.includes('conflict') ? named(kvrpcpb.WriteConflict_Reason) : undefined;
    case 'assertion':
      return named(kvrpcpb.Assertion);
    case 'type':
      return path.includes('results') ? named(kvrpcpb.PessimisticLockKeyResultType) : named(kvrpcpb.Op);
    default:
      return undefined;
  }
}

/** Normalizes one scenario's records on one target. */
export class Normalizer {
  readonly #named: { name: string; ts: bigint }[];
  readonly #prefix: Uint8Array;
  readonly #ordinals = new Ordinals();

  constructor(timestamps: ReadonlyMap<string, bigint>, keyPrefix: Uint8Array) {
    this.#named = [...timestamps].map(([name, ts]) => ({ name, ts })).sort((a, b) => (a.ts < b.ts ? -1 : 1));
    this.#prefix = keyPrefix;
  }

  /** The steps, normalized, in the order of `labels` (the other target's order for shared labels). */
  steps(steps: readonly Step[], labels: readonly string[]): Map<string, Plain> {
    const byLabel = new Map(steps.map((s) => [s.label, s.value]));
    const out = new Map<string, Plain>();
    for (const label of labels) {
      if (byLabel.has(label)) out.set(label, this.value(byLabel.get(label), [label]));
    }
    return out;
  }

  /** A timestamp's symbol. */
  ts(v: bigint): string {
    if (v === U64_MAX) return 'MAX';
    let below: { name: string; ts: bigint } | undefined;
    let above: { name: string; ts: bigint } | undefined;
    for (const n of this.#named) {
      if (n.ts === v) return n.name;
      if (n.ts < v) below = n;
      else if (above === undefined) above = n;
    }
    // The nearest name (the one below on a tie), as `name+d` / `name-d`.
    const up = above === undefined ? undefined : above.ts - v;
    const down = below === undefined ? undefined : v - below.ts;
    if (below !== undefined && down! <= MAX_NAMED_OFFSET && (up === undefined || down! <= up)) {
      return `${below.name}+${down}`;
    }
    if (above !== undefined && up! <= MAX_NAMED_OFFSET) return `${above.name}-${up}`;
    return `(${below?.name ?? ''}..${above?.name ?? ''})`;
  }

  #bytes(b: Uint8Array, field: string, path: readonly string[]): string {
    // Region boundaries are cut where each cluster cut them (the real one keeps earlier runs').
    if ((field === 'startKey' || field === 'endKey') && path.some((p) => REGION_PARENTS.has(p))) {
      return '<bound>';
    }
    if (b.length === 0) return '';
    const own = this.#ownKey(b);
    if (own !== undefined) return own;
    // TiKV's encoded form (`Key::as_encoded`, maybe with a version appended) of one of our keys.
    try {
      const { value, rest } = decodeBytes(b);
      const key = this.#ownKey(value);
      if (key !== undefined && rest.length === 0) return `enc(${key})`;
      if (key !== undefined && rest.length === 8) {
        const ts = U64_MAX - new DataView(rest.buffer, rest.byteOffset, 8).getBigUint64(0);
        return `enc(${key})@${this.ts(ts)}`;
      }
    } catch {
      // not an encoded key
    }
    return printable(b);
  }

  #ownKey(b: Uint8Array): string | undefined {
    const p = this.#prefix;
    if (b.length >= p.length && p.every((x, i) => b[i] === x)) return `<k>${printable(b.subarray(p.length))}`;
    return undefined;
  }

  #bigint(v: bigint, field: string, path: readonly string[]): Plain {
    const parent = path[path.length - 2] ?? '';
    if (field === 'regionId') return v === 0n ? 0 : this.#ordinals.of('R', v);
    // PD numbers a real store 1 or 1001 depending on its id allocator's state; compare by ordinal.
    if (field === 'storeId' || field === 'actualStoreId' || field === 'requestStoreId') {
      return v === 0n ? 0 : this.#ordinals.of('S', v);
    }
    if (field === 'peerId' || field === 'storePeerId' || field === 'requestPeerId') {
      return v === 0n ? 0 : this.#ordinals.of('P', v);
    }
    if (field === 'id' && PEER_PARENTS.has(parent)) return this.#ordinals.of('P', v);
    if (field === 'id' && REGION_PARENTS.has(parent)) return this.#ordinals.of('R', v);
    if ((field === 'confVer' || field === 'version') && parent === 'regionEpoch') {
      return this.#ordinals.of(field === 'confVer' ? 'conf' : 'ver', v);
    }
    // Key hashes are the same function of the same key on both sides.
    if (field === 'keyHash' || field === 'deadlockKeyHash') return v.toString();
    if (field === 'durationToLastUpdateMs') return v === 0n ? 0 : '>0';
    if (v >= TSO_MIN) return this.ts(v);
    return Number(v);
  }

  /** Normalizes a value found at `path` (field names and indexes). */
  value(v: unknown, path: readonly string[]): Plain {
    const field = path[path.length - 1] ?? '';
    if (v === undefined || v === null) return null;
    if (typeof v === 'bigint') return this.#bigint(v, field, path);
    if (v instanceof Uint8Array) return this.#bytes(v, field, path);
    if (typeof v === 'number') return enumName(field, path, v) ?? v;
    if (typeof v === 'string') {
      if (field === 'abort' || field === 'retryable' || field === 'error') return errorText(v);
      if (field === 'message') return v === '' ? '' : '<msg>';
      return v;
    }
    if (typeof v === 'boolean') return v;
    if (Array.isArray(v)) {
      // An array's elements carry the array's field name, for the id and enum rules.
      return v.map((x) => this.value(x, [...path, field]));
    }
    if (typeof v === 'object') {
      const out: { [k: string]: Plain } = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (DROPPED.has(k) || x === undefined) continue;
        out[k] = this.value(x, [...path, k]);
      }
      return out;
    }
    return String(v);
  }
}
