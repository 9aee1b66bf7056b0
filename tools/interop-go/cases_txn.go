package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	tikverr "github.com/tikv/client-go/v2/error"
	"github.com/tikv/client-go/v2/oracle"
	"github.com/tikv/client-go/v2/txnkv"
)

// Transactional checks: client-go's txnkv (the KVStore TiDB uses) against the mock's Percolator
// storage. They run in the order registered: `split-regions` first gives the transactional key
// space (which in API V2 sits after the raw one) the same four regions the raw checks use;
// `txn-heartbeat` leaves a lock with a long TTL that only `gc`, last because it moves the safe
// point under everything before it, resolves. Each check writes keys named after itself (spread
// over the regions by spread()) and deletes them at the end. The checks live by theme in
// cases_txn_*.go: scan, commit (async commit, 1PC), write (Insert, assertions, pipelined DML),
// pessimistic, lock (crashed writers, heartbeat), read (stale, follower, RC reads, GC).

func init() {
	register("txn", "split-regions", txnSplitRegions)
	register("txn", "optimistic-2pc-across-regions", txnOptimistic2PC)
	register("txn", "scan-forward-reverse", txnScans)
	register("txn", "write-conflict", txnWriteConflict)
	register("txn", "pessimistic-lock-wait-then-commit", txnPessimisticWait)
	register("txn", "pessimistic-lock-wait-timeout", txnPessimisticTimeout)
	register("txn", "pessimistic-no-wait", txnPessimisticNoWait)
	register("txn", "pessimistic-deadlock", txnDeadlock)
	register("txn", "pessimistic-return-values", txnPessimisticValues)
	register("txn", "prewrite-checks-for-update-ts", txnPrewriteChecksForUpdateTS)
	register("txn", "async-commit", txnAsyncCommit)
	register("txn", "one-pc", txnOnePC)
	register("txn", "causal-consistency", txnCausal)
	register("txn", "resolve-crashed-writer-rollback", txnResolveRolledBack)
	register("txn", "resolve-crashed-writer-primary-committed", txnResolvePrimaryCommitted)
	register("txn", "resolve-crashed-async-commit-writer", txnResolveAsyncCommit)
	register("txn", "insert-key-exists", txnInsert)
	register("txn", "assertions", txnAssertions)
	register("txn", "pipelined-dml", txnPipelined)
	register("txn", "isolation-rc", txnIsolationRC)
	register("txn", "delete-range", txnDeleteRange)
	register("txn", "stale-read", txnStaleRead)
	register("txn", "follower-read", txnFollowerRead)
	register("txn", "txn-heartbeat", txnHeartBeat)
	register("txn", "gc", txnGC)
}

// txnClient is the txnkv client (a KVStore) every transactional check shares. A KVStore commits
// a transaction's secondary keys in the background after Commit returns, on its own context:
// closing the store right after a commit cancels that and leaves the secondaries locked (as it
// would against TiKV), which would then hold back every later check's safe ts. So the checks
// share one store, closed when the program ends.
var txnClient struct {
	once sync.Once
	c    *txnkv.Client
	err  error
}

func newTxnClient(e *env) (*txnkv.Client, error) {
	c, err := txnkv.NewClient(e.pdAddrs, txnkv.WithAPIVersion(e.apiVersion))
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return c, nil
}

// withTxnClient runs fn with the shared txnkv client.
func withTxnClient(_ context.Context, e *env, fn func(c *txnkv.Client) error) error {
	txnClient.once.Do(func() {
		txnClient.c, txnClient.err = newTxnClient(e)
		if txnClient.err == nil {
			atExit(func() { txnClient.c.Close() })
		}
	})
	if txnClient.err != nil {
		return txnClient.err
	}
	return fn(txnClient.c)
}

// txnKeys is spread() under a `t-` prefix, so no transactional key matches a raw check's.
func txnKeys(check string, n int) [][]byte { return spread("t-"+check, n) }

func now(c *txnkv.Client) (uint64, error) { return c.CurrentTimestamp(oracle.GlobalTxnScope) }

// commitWrites writes puts (value per key) and deletes in one optimistic transaction.
func commitWrites(ctx context.Context, c *txnkv.Client, puts map[string][]byte, deletes [][]byte) (*txnkv.KVTxn, error) {
	txn, err := c.Begin()
	if err != nil {
		return nil, err
	}
	for k, v := range puts {
		if err := txn.Set([]byte(k), v); err != nil {
			return nil, err
		}
	}
	for _, k := range deletes {
		if err := txn.Delete(k); err != nil {
			return nil, err
		}
	}
	return txn, txn.Commit(ctx)
}

// deleteKeys removes a check's keys in one transaction.
func deleteKeys(ctx context.Context, c *txnkv.Client, keys [][]byte) error {
	_, err := commitWrites(ctx, c, nil, keys)
	return err
}

// valuesOf maps each key to value(i).
func valuesOf(keys [][]byte, value func(i int) string) map[string][]byte {
	m := make(map[string][]byte, len(keys))
	for i, k := range keys {
		m[string(k)] = []byte(value(i))
	}
	return m
}

// expectSnapshot checks that a snapshot at ts reads exactly want for keys (a missing entry: not found).
func expectSnapshot(ctx context.Context, c *txnkv.Client, ts uint64, keys [][]byte, want map[string][]byte) error {
	got, err := c.GetSnapshot(ts).BatchGet(ctx, keys)
	if err != nil {
		return fmt.Errorf("batch get at %d: %w", ts, err)
	}
	for _, k := range keys {
		w, ok := want[string(k)]
		g, found := got[string(k)]
		if ok != found || !bytes.Equal(w, g.Value) {
			return fmt.Errorf("at ts %d key %q reads %q (found %v), want %q (found %v)", ts, k, g.Value, found, w, ok)
		}
	}
	return nil
}

// regionsOf counts the distinct regions (as PD reports them) that hold keys.
func regionsOf(ctx context.Context, c *txnkv.Client, keys [][]byte) (int, error) {
	ids := map[uint64]bool{}
	for _, k := range keys {
		r, err := c.GetPDClient().GetRegion(ctx, k)
		if err != nil {
			return 0, err
		}
		if r == nil {
			return 0, fmt.Errorf("no region for %q", k)
		}
		ids[r.Meta.GetId()] = true
	}
	return len(ids), nil
}

// txnSplitRegions splits the transactional key space through TiKV's SplitRegion (KVStore.SplitRegions)
// at the one-byte keys spread() relies on, plus one more, then checks PD's view.
func txnSplitRegions(ctx context.Context, e *env) error {
	return withTxnClient(ctx, e, func(c *txnkv.Client) error {
		keys := [][]byte{{0x40}, {0x80}, {0xc0}, {0x30}}
		ids, err := c.SplitRegions(ctx, keys, false, nil)
		if err != nil {
			return fmt.Errorf("split: %w", err)
		}
		// A V1 mock already cuts at 0x40, 0x80 and 0xc0 (client-go skips a key that starts a region);
		// in V2 those cuts are in the raw key space, so all four keys split.
		want := 4
		if e.apiVersion == kvrpcpb.APIVersion_V1 {
			want = 1
		}
		if err := expect(len(ids) == want, "split created regions %v, want %d", ids, want); err != nil {
			return err
		}
		for _, k := range keys {
			r, err := c.GetPDClient().GetRegion(ctx, k)
			if err != nil {
				return err
			}
			if err := expect(r != nil && bytes.Equal(r.Meta.GetStartKey(), k), "region at %x starts at %x", k, r.Meta.GetStartKey()); err != nil {
				return err
			}
		}
		return nil
	})
}

// txnOptimistic2PC: one transaction writes 1024 keys over four regions; later versions overwrite
// and delete some; snapshots at each commit ts (and just below) see exactly their version.
func txnOptimistic2PC(ctx context.Context, e *env) error {
	return withTxnClient(ctx, e, func(c *txnkv.Client) error {
		// 1024 keys of ~100 bytes: several prewrite and commit batches per region (client-go
		// cuts batches at 16 KiB).
		keys := txnKeys("2pc", 1024)
		n, err := regionsOf(ctx, c, keys)
		if err != nil {
			return err
		}
		if err := expect(n == 4, "the keys sit in %d regions, want 4", n); err != nil {
			return err
		}
		v1 := valuesOf(keys, func(i int) string { return fmt.Sprintf("v1-%d-%0100d", i, 0)[:100] })
		t1, err := commitWrites(ctx, c, v1, nil)
		if err != nil {
			return fmt.Errorf("first commit: %w", err)
		}
		c1 := t1.CommitTS()
		if err := expect(c1 > t1.StartTS(), "commit ts %d <= start ts %d", c1, t1.StartTS()); err != nil {
			return err
		}
		// Version 2: even keys rewritten, every fourth key (from 3) deleted.
		v2 := map[string][]byte{}
		var dels [][]byte
		want2 := map[string][]byte{}
		for i, k := range keys {
			switch {
			case i%4 == 3:
				dels = append(dels, k)
			case i%2 == 0:
				v2[string(k)] = []byte(fmt.Sprintf("v2-%d", i))
				want2[string(k)] = v2[string(k)]
			default:
				want2[string(k)] = v1[string(k)]
			}
		}
		t2, err := commitWrites(ctx, c, v2, dels)
		if err != nil {
			return fmt.Errorf("second commit: %w", err)
		}
		c2 := t2.CommitTS()
		for _, step := range []struct {
			ts   uint64
			want map[string][]byte
		}{{t1.StartTS(), nil}, {c1 - 1, nil}, {c1, v1}, {c2 - 1, v1}, {c2, want2}} {
			if err := expectSnapshot(ctx, c, step.ts, keys, step.want); err != nil {
				return err
			}
		}
		// Point gets through a transaction: a value, a deleted key.
		txn, err := c.Begin()
		if err != nil {
			return err
		}
		got, err := txn.Get(ctx, keys[1])
		if err != nil {
			return err
		}
		if err := expect(string(got.Value) == string(v1[string(keys[1])]), "get %q: %q", keys[1], got.Value); err != nil {
			return err
		}
		if _, err := txn.Get(ctx, keys[3]); !tikverr.IsErrNotFound(err) {
			return fmt.Errorf("get of a deleted key: %v, want not found", err)
		}
		if err := txn.Rollback(); err != nil {
			return err
		}
		return deleteKeys(ctx, c, keys)
	})
}

// txnWriteConflict: two optimistic transactions write one key; the second to commit gets a write
// conflict naming the first's start and commit ts.
func txnWriteConflict(ctx context.Context, e *env) error {
	return withTxnClient(ctx, e, func(c *txnkv.Client) error {
		k := txnKeys("conflict", 2)[1]
		t1, err := c.Begin()
		if err != nil {
			return err
		}
		t2, err := c.Begin()
		if err != nil {
			return err
		}
		if err := t1.Set(k, []byte("one")); err != nil {
			return err
		}
		if err := t2.Set(k, []byte("two")); err != nil {
			return err
		}
		if err := t1.Commit(ctx); err != nil {
			return err
		}
		err = t2.Commit(ctx)
		var wc *tikverr.ErrWriteConflict
		if !errors.As(err, &wc) {
			return fmt.Errorf("second commit: %v, want a write conflict", err)
		}
		if err := expect(wc.StartTs == t2.StartTS() && wc.ConflictTs == t1.StartTS() && wc.ConflictCommitTs == t1.CommitTS() &&
			bytes.Equal(wc.Key, k) && wc.Reason == kvrpcpb.WriteConflict_Optimistic,
			"conflict %+v; want start %d, conflict %d, commit %d, key %q, reason Optimistic", wc.WriteConflict, t2.StartTS(), t1.StartTS(), t1.CommitTS(), k); err != nil {
			return err
		}
		ts, err := now(c)
		if err != nil {
			return err
		}
		if err := expectSnapshot(ctx, c, ts, [][]byte{k}, map[string][]byte{string(k): []byte("one")}); err != nil {
			return err
		}
		return deleteKeys(ctx, c, [][]byte{k})
	})
}

// txnDeleteRange: KVStore.DeleteRange removes every version in [0x50, 0xd0), over three regions.
func txnDeleteRange(ctx context.Context, e *env) error {
	return withTxnClient(ctx, e, func(c *txnkv.Client) error {
		keys := txnKeys("delrange", 32)
		if _, err := commitWrites(ctx, c, valuesOf(keys, func(int) string { return "x" }), nil); err != nil {
			return err
		}
		done, err := c.DeleteRange(ctx, []byte{0x50}, []byte{0xd0}, 2)
		if err != nil {
			return err
		}
		if err := expect(done == 3, "delete range completed %d regions, want 3 (0x40-0x80, 0x80-0xc0, 0xc0-)", done); err != nil {
			return err
		}
		ts, err := now(c)
		if err != nil {
			return err
		}
		want := map[string][]byte{}
		for _, k := range keys {
			if k[0] != 0x50 && k[0] != 0x90 {
				want[string(k)] = []byte("x")
			}
		}
		if err := expectSnapshot(ctx, c, ts, keys, want); err != nil {
			return err
		}
		return deleteKeys(ctx, c, keys)
	})
}
