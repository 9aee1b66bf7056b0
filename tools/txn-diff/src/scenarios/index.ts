/** Every scenario, in the order they run (GC last: it moves the cluster's safe point). */
import type { Scenario } from '../scenario.js';
import { admin } from './admin.js';
import { asyncCommit } from './async-commit.js';
import { badRequests } from './bad-requests.js';
import { commitRollback } from './commit-rollback.js';
import { isolation } from './isolation.js';
import { lockWait } from './lock-wait.js';
import { pessimistic } from './pessimistic.js';
import { prewriteChecks } from './prewrite-checks.js';
import { readsWrites } from './reads-writes.js';
import { resolve } from './resolve.js';
import { txnStatus } from './txn-status.js';

const all: Scenario[] = [
  ...readsWrites,
  ...isolation,
  ...prewriteChecks,
  ...commitRollback,
  ...txnStatus,
  ...resolve,
  ...asyncCommit,
  ...pessimistic,
  ...lockWait,
  ...badRequests,
  ...admin,
];
const gcLast = (s: Scenario) => (s.name.startsWith('gc-') ? 1 : 0);

export const SCENARIOS: readonly Scenario[] = all.sort((a, b) => gcLast(a) - gcLast(b));
