/** A scenario: one request sequence, run on both targets and compared. */
import { diffRecords, type FieldDiff } from './compare.js';
import { Normalizer, type Plain } from './normalize.js';
import { CallFailed, Session } from './session.js';
import type { Mode, Target } from './target.js';

/** A request sequence. */
export interface Scenario {
  /** Unique; also part of its keys. */
  readonly name: string;
  /** Where it comes from (a ported TiKV test, a scripted case). */
  readonly origin: string;
  /** The API versions it runs in. @defaultValue ['v1'] */
  readonly modes?: readonly Mode[];
  run(s: Session): Promise<void>;
}

/** A scenario's outcome in one mode. */
export interface Outcome {
  readonly scenario: string;
  readonly mode: Mode;
  readonly diffs: readonly FieldDiff[];
  /** Why it stopped early on a target (a gRPC failure, a broken expectation). */
  readonly failures: { readonly mock?: string; readonly real?: string };
  readonly ms: number;
  /** Both targets' normalized answers, by label. */
  readonly records: { readonly mock: Record<string, Plain>; readonly real: Record<string, Plain> };
}

async function runOn(target: Target, runPrefix: string, scenario: Scenario): Promise<Session> {
  const s = new Session(target, runPrefix, scenario.name);
  try {
    await scenario.run(s);
  } catch (e) {
    s.fail(e instanceof CallFailed ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e));
  }
  return s;
}

/** Runs a scenario on both targets at the same time and compares what they answered. */
export async function runScenario(
  scenario: Scenario,
  mode: Mode,
  targets: { mock: Target; real: Target },
  runPrefix: string,
): Promise<Outcome> {
  const t0 = performance.now();
  const [mock, real] = await Promise.all([
    runOn(targets.mock, runPrefix, scenario),
    runOn(targets.real, runPrefix, scenario),
  ]);
  const labels = [...new Set([...mock.steps, ...real.steps].map((s) => s.label))];
  const m = new Normalizer(mock.timestamps, mock.keyPrefix).steps(mock.steps, labels);
  const r = new Normalizer(real.timestamps, real.keyPrefix).steps(real.steps, labels);
  const diffs = diffRecords(m, r);
  const failures = {
    ...(mock.failure === undefined ? {} : { mock: mock.failure }),
    ...(real.failure === undefined ? {} : { real: real.failure }),
  };
  return {
    scenario: scenario.name,
    mode,
    diffs,
    failures,
    ms: performance.now() - t0,
    records: { mock: Object.fromEntries(m), real: Object.fromEntries(r) },
  };
}
