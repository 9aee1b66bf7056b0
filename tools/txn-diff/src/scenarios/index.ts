/** Every scenario, in the order they run. */
import type { Scenario } from '../scenario.js';
import { readsWrites } from './reads-writes.js';

export const SCENARIOS: readonly Scenario[] = [...readsWrites];
