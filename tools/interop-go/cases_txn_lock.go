package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tikv/client-go/v2/oracle"
	"github.com/tikv/client-go/v2/tikv"
	"github.com/tikv/client-go/v2/txnkv"
	"github.com/tikv/client-go/v2/txnkv/transaction"
)

// Transactional checks of lock resolution: a reader resolving what a crashed writer left.
// Registered in cases_txn.go.

// shortTTL is a crashed writer's lock TTL in ms: a reader resolves its locks after it.
const shortTTL = 50

// crashedWriter prewrites value to keys (the first is the primary) with a lock TTL of ttlMs and
// stops, as a client that died after prewrite; with commitPrimary it also commits the primary.
// Returns the start ts.
func crashedWriter(ctx context.Context, c *txnkv.Client, keys [][]byte, value string, ttlMs uint64, asyncCommit, commitPrimary bool) (uint64, error) {
	txn, err := c.Begin()
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := txn.Set(k, []byte(value)); err != nil {
			return 0, err
		}
	}
	tpc, err := transaction.TxnProbe{KVTxn: txn}.NewCommitter(1)
	if err != nil {
		return 0, err
	}
	tpc.SetPrimaryKey(keys[0])
	tpc.SetLockTTL(ttlMs)
	if asyncCommit {
		tpc.SetUseAsyncCommit()
	}
	if err := tpc.PrewriteAllMutations(ctx); err != nil {
		return 0, fmt.Errorf("crashed writer's prewrite: %w", err)
	}
	if commitPrimary {
		ts, err := now(c)
		if err != nil {
			return 0, err
		}
		tpc.SetCommitTS(ts)
		if err := tpc.CommitMutations(ctx); err != nil {
			return 0, fmt.Errorf("crashed writer's primary commit: %w", err)
		}
	}
	return txn.StartTS(), nil
}

// awaitExpiry returns once PD's clock has passed the end of a lock's TTL (counted, as TiKV
// counts it, from the physical part of the lock's start ts).
func awaitExpiry(ctx context.Context, c *txnkv.Client, startTS, ttlMs uint64) error {
	for {
		ts, err := now(c)
		if err != nil {
			return err
		}
		if oracle.ExtractPhysical(ts) > oracle.ExtractPhysical(startTS)+int64(ttlMs) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// expectNoLocks checks that no lock of the crashed transaction is left in the check's range.
func expectNoLocks(ctx context.Context, c *txnkv.Client, startTS uint64) error {
	lo, hi := span()
	locks, err := tikv.StoreProbe{KVStore: c.KVStore}.ScanLocks(ctx, lo, hi, ^uint64(0))
	if err != nil {
		return err
	}
	for _, l := range locks {
		if l.TxnID == startTS {
			return fmt.Errorf("lock on %q of the crashed txn %d is still there", l.Key, startTS)
		}
	}
	return nil
}

// resolveCase writes base values, strands a writer over them, then reads with a new transaction:
// the reader must resolve every lock and read want (the base values or the writer's).
func resolveCase(ctx context.Context, c *txnkv.Client, check string, asyncCommit, commitPrimary, committed bool) error {
	keys := txnKeys(check, 4)
	base := valuesOf(keys, func(i int) string { return fmt.Sprintf("base-%d", i) })
	if _, err := commitWrites(ctx, c, base, nil); err != nil {
		return err
	}
	startTS, err := crashedWriter(ctx, c, keys, "crashed", shortTTL, asyncCommit, commitPrimary)
	if err != nil {
		return err
	}
	want := base
	if committed {
		want = valuesOf(keys, func(int) string { return "crashed" })
	}
	// A reader that meets a live lock only pushes it past its own start ts (or, for async commit,
	// backs off) and reads around it; the crashed writer is resolved once its lock has expired.
	if err := awaitExpiry(ctx, c, startTS, shortTTL); err != nil {
		return err
	}
	reader, err := c.Begin()
	if err != nil {
		return err
	}
	// Secondaries first: a reader meets a secondary lock before the primary's state is known.
	got, err := reader.BatchGet(ctx, append(append([][]byte{}, keys[1:]...), keys[0]))
	if err != nil {
		return fmt.Errorf("reader: %w", err)
	}
	for _, k := range keys {
		if string(got[string(k)].Value) != string(want[string(k)]) {
			return fmt.Errorf("reader saw %q = %q, want %q", k, got[string(k)].Value, want[string(k)])
		}
	}
	_ = reader.Rollback()
	if err := expectNoLocks(ctx, c, startTS); err != nil {
		return err
	}
	ts, err := now(c)
	if err != nil {
		return err
	}
	status, err := c.GetLockResolver().GetTxnStatus(startTS, ts, keys[0])
	if err != nil {
		return err
	}
	if err := expect(committed && status.IsCommitted() || !committed && status.IsRolledBack(),
		"crashed txn status %v: committed %v, rolled back %v; want committed %v", status, status.IsCommitted(), status.IsRolledBack(), committed); err != nil {
		return err
	}
	return deleteKeys(ctx, c, keys)
}

// txnResolveRolledBack: a writer died after prewrite; once its locks expire a reader rolls it back.
func txnResolveRolledBack(ctx context.Context, e *env) error {
	return withTxnClient(ctx, e, func(c *txnkv.Client) error {
		return resolveCase(ctx, c, "crashed-rollback", false, false, false)
	})
}

// txnResolvePrimaryCommitted: a writer died after committing its primary; a reader commits the
// secondaries it finds.
func txnResolvePrimaryCommitted(ctx context.Context, e *env) error {
	return withTxnClient(ctx, e, func(c *txnkv.Client) error {
		return resolveCase(ctx, c, "crashed-primary", false, true, true)
	})
}

// txnResolveAsyncCommit: an async-commit writer died after prewriting every key: the transaction
// is committed (all its locks exist), and the reader finds that out with CheckSecondaryLocks and
// commits it at the largest min_commit_ts.
func txnResolveAsyncCommit(ctx context.Context, e *env) error {
	return withTxnClient(ctx, e, func(c *txnkv.Client) error {
		return resolveCase(ctx, c, "crashed-async", true, false, true)
	})
}

// txnHeartBeat: KvTxnHeartBeat extends a live primary lock's TTL (never shortens it), as the TTL
// manager of a long transaction does; GC resolves the lock later.
func txnHeartBeat(ctx context.Context, e *env) error {
	return withTxnClient(ctx, e, func(c *txnkv.Client) error {
		keys := txnKeys("heartbeat", 2)
		startTS, err := crashedWriter(ctx, c, keys, "beating", 3000, false, false)
		if err != nil {
			return err
		}
		bo := tikv.NewBackofferWithVars(ctx, 5000, nil)
		ttl, _, err := transaction.SendTxnHeartBeat(bo, c.KVStore, keys[0], startTS, 60_000)
		if err != nil {
			return fmt.Errorf("heartbeat: %w", err)
		}
		if err := expect(ttl == 60_000, "heartbeat answered ttl %d, want 60000", ttl); err != nil {
			return err
		}
		ttl, _, err = transaction.SendTxnHeartBeat(bo, c.KVStore, keys[0], startTS, 10_000)
		if err != nil {
			return fmt.Errorf("shorter heartbeat: %w", err)
		}
		if err := expect(ttl == 60_000, "a shorter heartbeat answered ttl %d, want 60000 kept", ttl); err != nil {
			return err
		}
		ts, err := now(c)
		if err != nil {
			return err
		}
		status, err := c.GetLockResolver().GetTxnStatus(startTS, ts, keys[0])
		if err != nil {
			return err
		}
		if err := expect(!status.IsStatusDetermined() && status.TTL() == 60_000, "status after heartbeats %v, want alive with ttl 60000", status); err != nil {
			return err
		}
		// TiKV does not check that the key is the primary: a secondary's TTL moves too.
		ttl, _, err = transaction.SendTxnHeartBeat(bo, c.KVStore, keys[1], startTS, 70_000)
		if err != nil {
			return fmt.Errorf("heartbeat on a secondary: %w", err)
		}
		if err := expect(ttl == 70_000, "heartbeat on a secondary answered ttl %d, want 70000", ttl); err != nil {
			return err
		}
		// A key the transaction holds no lock on: TxnNotFound.
		unlocked := txnKeys("heartbeat", 3)[2]
		_, _, err = transaction.SendTxnHeartBeat(bo, c.KVStore, unlocked, startTS, 60_000)
		return expect(err != nil && strings.Contains(err.Error(), "not found"), "heartbeat without a lock: %v, want TxnNotFound", err)
	})
}
