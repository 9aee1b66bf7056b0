/** Field-by-field comparison of two normalized answers. */
import type { Plain } from './normalize.js';

/** One field whose values differ. */
export interface FieldDiff {
  /** `label.field.sub[2].x` */
  readonly path: string;
  readonly mock: string;
  readonly real: string;
}

/** How a value prints in the report (`-` for a field one side does not have). */
export function show(v: Plain | undefined): string {
  if (v === undefined) return '-';
  return typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v);
}

function isObject(v: Plain | undefined): v is { [k: string]: Plain } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every path where `mock` and `real` differ (recursing into objects and arrays). */
export function diffValues(mock: Plain | undefined, real: Plain | undefined, path: string): FieldDiff[] {
  if (isObject(mock) && isObject(real)) {
    const keys = [...new Set([...Object.keys(mock), ...Object.keys(real)])];
    return keys.flatMap((k) => diffValues(mock[k], real[k], `${path}.${k}`));
  }
  if (Array.isArray(mock) && Array.isArray(real)) {
    const out: FieldDiff[] = [];
    if (mock.length !== real.length) {
      out.push({ path: `${path}.length`, mock: String(mock.length), real: String(real.length) });
    }
    for (let i = 0; i < Math.max(mock.length, real.length); i++) {
      out.push(...diffValues(mock[i], real[i], `${path}[${i}]`));
    }
    return out;
  }
  const a = show(mock);
  const b = show(real);
  return a === b ? [] : [{ path, mock: a, real: b }];
}

/** The differences between two targets' normalized records of one scenario. */
export function diffRecords(mock: ReadonlyMap<string, Plain>, real: ReadonlyMap<string, Plain>): FieldDiff[] {
  const labels = [...new Set([...mock.keys(), ...real.keys()])];
  return labels.flatMap((l) => diffValues(mock.get(l), real.get(l), l));
}
