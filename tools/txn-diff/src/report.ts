/** The printed report: one line per scenario and mode, then the differing fields. */
import { explain } from './known-differences.js';
import type { Outcome } from './scenario.js';

/** A scenario's verdict: the same answers, only documented differences, or a new difference. */
export type Verdict = 'PASS' | 'KNOWN' | 'DIFF';

/** The verdict of one outcome. */
export function verdictOf(o: Outcome): Verdict {
  if (o.failures.mock !== undefined || o.failures.real !== undefined) return 'DIFF';
  if (o.diffs.length === 0) return 'PASS';
  return o.diffs.every((d) => explain(o.scenario, o.mode, d.path) !== undefined) ? 'KNOWN' : 'DIFF';
}

/** The report text. */
export function formatReport(
  outcomes: readonly Outcome[],
  options: { verbose: boolean; dump: boolean },
): string {
  const lines: string[] = [];
  if (options.dump) {
    for (const o of outcomes) {
      lines.push(`== ${o.scenario} (${o.mode})`);
      for (const [label, v] of Object.entries(o.records.mock)) {
        lines.push(
          `  ${label}`,
          `    mock: ${JSON.stringify(v)}`,
          `    real: ${JSON.stringify(o.records.real[label])}`,
        );
      }
    }
    lines.push('');
  }
  const width = Math.max(8, ...outcomes.map((o) => o.scenario.length));
  lines.push(`${'scenario'.padEnd(width)}  mode  verdict  fields`);
  for (const o of outcomes) {
    const v = verdictOf(o);
    lines.push(`${o.scenario.padEnd(width)}  ${o.mode.padEnd(4)}  ${v.padEnd(7)}  ${o.diffs.length}`);
  }
  for (const o of outcomes) {
    const v = verdictOf(o);
    if (v === 'PASS' || (v === 'KNOWN' && !options.verbose)) continue;
    lines.push('', `${v} ${o.scenario} (${o.mode})`);
    for (const [side, why] of Object.entries(o.failures)) lines.push(`  stopped on ${side}: ${why}`);
    for (const d of o.diffs) {
      const known = explain(o.scenario, o.mode, d.path);
      lines.push(`  ${d.path}${known === undefined ? '' : `  [known: ${known}]`}`);
      lines.push(`    mock: ${d.mock}`);
      lines.push(`    real: ${d.real}`);
    }
  }
  const count = (v: Verdict) => outcomes.filter((o) => verdictOf(o) === v).length;
  lines.push('', `${count('PASS')} pass, ${count('KNOWN')} known differences, ${count('DIFF')} diff`);
  return lines.join('\n');
}
