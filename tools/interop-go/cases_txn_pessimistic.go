package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/pingcap/kvproto/pkg/deadlock"
	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	tikverr "github.com/tikv/client-go/v2/error"
	"github.com/tikv/client-go/v2/kv"
	"github.com/tikv/client-go/v2/tikvrpc"
	"github.com/tikv/client-go/v2/txnkv"
	"github.com/tikv/client-go/v2/txnkv/transaction"
)

// Transactional checks of pessimistic locking: waiting, timeouts, no-wait, deadlocks. Registered
// in cases_txn.go.

func beginPessimistic(c *txnkv.Client) (*txnkv.KVTxn, error) {
	txn, err := c.Begin()
	if err != nil {
		return nil, err
	}
	txn.SetPessimistic(true)
	return txn, nil
}

// lockWaits asks every store which lock waits it has (GetLockWaitInfo, as TiDB's
// DATA_LOCK_WAITS table does).
func lockWaits(ctx context.Context, c *txnkv.Client) ([]*deadlock.WaitForEntry, error) {
	stores, err := c.GetPDClient().GetAllStores(ctx)
	if err != nil {
		return nil, err
	}
	var out []*deadlock.WaitForEntry
	for _, s := range stores {
		req := tikvrpc.NewRequest(tikvrpc.CmdLockWaitInfo, &kvrpcpb.GetLockWaitInfoRequest{})
		resp, err := c.GetTiKVClient().SendRequest(ctx, s.GetAddress(), req, 5*time.Second)
		if err != nil {
			return nil, fmt.Errorf("GetLockWaitInfo on store %d: %w", s.GetId(), err)
		}
		r, ok := resp.Resp.(*kvrpcpb.GetLockWaitInfoResponse)
		if !ok || r.GetError() != "" || r.GetRegionError() != nil {
			return nil, fmt.Errorf("GetLockWaitInfo on store %d: %+v", s.GetId(), resp.Resp)
		}
		out = append(out, r.GetEntries()...)
	}
	return out, nil
}

// awaitLockWait returns once some store reports txn waiting for waitFor's lock: the event a
// blocked LockKeys call is waiting on, observed the way an operator would.
func awaitLockWait(ctx context.Context, c *txnkv.Client, txn, waitFor uint64) error {
	for {
		entries, err := lockWaits(ctx, c)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.GetTxn() == txn && e.GetWaitForTxn() == waitFor {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("txn %d never showed up waiting for %d: %w", txn, waitFor, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// lockAsync runs LockKeysWithWaitTime in the background; the channel gets its result.
func lockAsync(ctx context.Context, txn *txnkv.KVTxn, waitMs int64, keys ...[]byte) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- txn.LockKeysWithWaitTime(ctx, waitMs, keys...) }()
	return ch
}

// txnPessimisticWait: t2 waits for a key t1 holds; when t1 commits, t2's waiting request answers
// a write conflict (TiKV's legacy wake-up), t2 locks again with a newer for_update_ts, and its
// commit wins.
func txnPessimisticWait(ctx context.Context, e *env) error {
	return withTxnClient(ctx, e, func(c *txnkv.Client) error {
		keys := txnKeys("pessimistic", 2)
		t1, err := beginPessimistic(c)
		if err != nil {
			return err
		}
		if err := t1.LockKeysWithWaitTime(ctx, kv.LockAlwaysWait, keys...); err != nil {
			return fmt.Errorf("t1 lock: %w", err)
		}
		t2, err := beginPessimistic(c)
		if err != nil {
			return err
		}
		waited := lockAsync(ctx, t2, kv.LockAlwaysWait, keys[0])
		if err := awaitLockWait(ctx, c, t2.StartTS(), t1.StartTS()); err != nil {
			return err
		}
		for _, k := range keys {
			if err := t1.Set(k, []byte("t1")); err != nil {
				return err
			}
		}
		if err := t1.Commit(ctx); err != nil {
			return fmt.Errorf("t1 commit: %w", err)
		}
		if err := <-waited; !tikverr.IsErrWriteConflict(err) {
			return fmt.Errorf("t2's waiting lock after t1 committed: %v, want a write conflict", err)
		}
		if err := t2.LockKeysWithWaitTime(ctx, kv.LockAlwaysWait, keys[0]); err != nil {
			return fmt.Errorf("t2 lock again: %w", err)
		}
		if err := t2.Set(keys[0], []byte("t2")); err != nil {
			return err
		}
		if err := t2.Commit(ctx); err != nil {
			return fmt.Errorf("t2 commit: %w", err)
		}
		ts, err := now(c)
		if err != nil {
			return err
		}
		want := map[string][]byte{string(keys[0]): []byte("t2"), string(keys[1]): []byte("t1")}
		if err := expectSnapshot(ctx, c, ts, keys, want); err != nil {
			return err
		}
		return deleteKeys(ctx, c, keys)
	})
}

// holdLock starts a pessimistic transaction that locks key, for the caller to roll back.
func holdLock(ctx context.Context, c *txnkv.Client, key []byte) (*txnkv.KVTxn, error) {
	t, err := beginPessimistic(c)
	if err != nil {
		return nil, err
	}
	if err := t.LockKeysWithWaitTime(ctx, kv.LockAlwaysWait, key); err != nil {
		return nil, fmt.Errorf("holder lock: %w", err)
	}
	return t, nil
}

// txnPessimisticTimeout: a lock wait bounded below the holder's lifetime ends in a lock wait timeout.
func txnPessimisticTimeout(ctx context.Context, e *env) error {
	return withTxnClient(ctx, e, func(c *txnkv.Client) error {
		k := txnKeys("wait-timeout", 1)[0]
		holder, err := holdLock(ctx, c, k)
		if err != nil {
			return err
		}
		defer holder.Rollback()
		t2, err := beginPessimistic(c)
		if err != nil {
			return err
		}
		defer t2.Rollback()
		err = t2.LockKeysWithWaitTime(ctx, 300, k)
		return expect(errors.Is(err, tikverr.ErrLockWaitTimeout), "bounded wait: %v, want a lock wait timeout", err)
	})
}

// txnPessimisticNoWait: a no-wait lock on a held key fails at once.
func txnPessimisticNoWait(ctx context.Context, e *env) error {
	return withTxnClient(ctx, e, func(c *txnkv.Client) error {
		k := txnKeys("no-wait", 1)[0]
		holder, err := holdLock(ctx, c, k)
		if err != nil {
			return err
		}
		defer holder.Rollback()
		t2, err := beginPessimistic(c)
		if err != nil {
			return err
		}
		defer t2.Rollback()
		err = t2.LockKeysWithWaitTime(ctx, kv.LockNoWait, k)
		return expect(errors.Is(err, tikverr.ErrLockAcquireFailAndNoWaitSet), "no-wait lock: %v, want ErrLockAcquireFailAndNoWaitSet", err)
	})
}

// txnDeadlock: t1 holds a and waits for b; t2 holds b and asks for a: t2 gets a deadlock error
// whose wait chain is t1 -> t2 (on b) then t2 -> t1 (on a); when t2 rolls back, t1's wait ends.
func txnDeadlock(ctx context.Context, e *env) error {
	return withTxnClient(ctx, e, func(c *txnkv.Client) error {
		keys := txnKeys("deadlock", 2)
		a, b := keys[0], keys[1]
		t1, err := holdLock(ctx, c, a)
		if err != nil {
			return err
		}
		t2, err := holdLock(ctx, c, b)
		if err != nil {
			_ = t1.Rollback()
			return err
		}
		waited := lockAsync(ctx, t1, kv.LockAlwaysWait, b)
		// Whatever happens, t2 rolls back first, which ends t1's wait; then t1 rolls back.
		t2Done := false
		var t1Err error
		defer func() {
			if !t2Done {
				_ = t2.Rollback()
				t1Err = <-waited
			}
			_ = t1.Rollback()
		}()
		if err := awaitLockWait(ctx, c, t1.StartTS(), t2.StartTS()); err != nil {
			return err
		}
		err = t2.LockKeysWithWaitTime(ctx, kv.LockAlwaysWait, a)
		var dl *tikverr.ErrDeadlock
		if !errors.As(err, &dl) {
			return fmt.Errorf("t2 locking a: %v, want a deadlock", err)
		}
		t2Done = true
		if err := t2.Rollback(); err != nil {
			return err
		}
		t1Err = <-waited
		chain := dl.GetWaitChain()
		entryIs := func(en *deadlock.WaitForEntry, txn, waitFor uint64, key []byte) bool {
			return en.GetTxn() == txn && en.GetWaitForTxn() == waitFor && string(en.GetKey()) == string(key)
		}
		if err := expect(dl.GetLockTs() == t1.StartTS() && string(dl.GetLockKey()) == string(a),
			"deadlock lock ts %d key %q; want %d %q", dl.GetLockTs(), dl.GetLockKey(), t1.StartTS(), a); err != nil {
			return err
		}
		if err := expect(len(chain) == 2 && entryIs(chain[0], t1.StartTS(), t2.StartTS(), b) && entryIs(chain[1], t2.StartTS(), t1.StartTS(), a),
			"wait chain %v; want t1(%d) -> t2(%d) on %q, t2 -> t1 on %q", chain, t1.StartTS(), t2.StartTS(), b, a); err != nil {
			return err
		}
		return expect(tikverr.IsErrWriteConflict(t1Err), "t1's wait after t2 rolled back: %v, want a write conflict", t1Err)
	})
}

// txnPessimisticValues: LockKeys returning values and existence (as SELECT ... FOR UPDATE does),
// and lock-only-if-exists leaving an absent key unlocked.
func txnPessimisticValues(ctx context.Context, e *env) error {
	return withTxnClient(ctx, e, func(c *txnkv.Client) error {
		keys := txnKeys("lock-values", 2)
		present, absent := keys[0], keys[1]
		if _, err := commitWrites(ctx, c, map[string][]byte{string(present): []byte("v")}, nil); err != nil {
			return err
		}
		txn, err := beginPessimistic(c)
		if err != nil {
			return err
		}
		defer txn.Rollback()
		// Each LockKeys takes a fresh for_update_ts, as TiDB does: a pessimistic rollback removes
		// only locks at or below the transaction's latest one.
		lockCtxAt := func(waitMs int64) (*kv.LockCtx, error) {
			forUpdateTS, err := now(c)
			if err != nil {
				return nil, err
			}
			return kv.NewLockCtx(forUpdateTS, waitMs, time.Now()), nil
		}
		lockCtx, err := lockCtxAt(kv.LockAlwaysWait)
		if err != nil {
			return err
		}
		lockCtx.InitReturnValues(2)
		if err := txn.LockKeys(ctx, lockCtx, present, absent); err != nil {
			return err
		}
		p, a := lockCtx.Values[string(present)], lockCtx.Values[string(absent)]
		if err := expect(string(p.Value) == "v" && p.Exists && len(a.Value) == 0 && !a.Exists,
			"returned values: present %+v, absent %+v", p, a); err != nil {
			return err
		}
		t2, err := beginPessimistic(c)
		if err != nil {
			return err
		}
		defer t2.Rollback()
		existence, err := lockCtxAt(kv.LockNoWait)
		if err != nil {
			return err
		}
		existence.InitCheckExistence(1)
		// Held by txn: the no-wait lock fails; the check goes to a fresh key instead.
		fresh := append([]byte{0x90}, "t-lock-values-fresh"...)
		if err := t2.LockKeys(ctx, existence, fresh); err != nil {
			return err
		}
		if err := expect(!existence.Values[string(fresh)].Exists, "check existence of an absent key: %+v", existence.Values[string(fresh)]); err != nil {
			return err
		}
		// Lock only if exists: t3 locks its primary, then asks for an absent key, which stays unlocked.
		t3, err := beginPessimistic(c)
		if err != nil {
			return err
		}
		defer t3.Rollback()
		primary := append([]byte{0xd0}, "t-lock-values-primary"...)
		if err := t3.LockKeysWithWaitTime(ctx, kv.LockNoWait, primary); err != nil {
			return err
		}
		onlyIfExists, err := lockCtxAt(kv.LockNoWait)
		if err != nil {
			return err
		}
		onlyIfExists.InitReturnValues(1)
		onlyIfExists.LockOnlyIfExists = true
		other := append([]byte{0x50}, "t-lock-values-absent"...)
		if err := t3.LockKeys(ctx, onlyIfExists, other); err != nil {
			return fmt.Errorf("lock only if exists: %w", err)
		}
		probe, err := beginPessimistic(c)
		if err != nil {
			return err
		}
		defer probe.Rollback()
		if err := probe.LockKeysWithWaitTime(ctx, kv.LockNoWait, other); err != nil {
			return fmt.Errorf("the absent key locked only if it existed is locked: %w", err)
		}
		for _, t := range []*txnkv.KVTxn{txn, t2, t3, probe} {
			if err := t.Rollback(); err != nil {
				return err
			}
		}
		return deleteKeys(ctx, c, keys)
	})
}

// txnPrewriteChecksForUpdateTS is client-go's TestPrewriteCheckForUpdateTS (a test it runs only
// against real TiKV), without its failpoint: a transaction in aggressive locking mode loses its
// pessimistic lock on k1, another transaction writes k1, and a replayed stale lock request
// re-locks k1 with a newer for_update_ts; the first transaction's prewrite, which names the
// for_update_ts it expects (for_update_ts_constraints), must fail with PessimisticLockNotFound.
// Then the passing case: a key locked with conflict commits. In 2PC, async commit, 1PC and
// async commit with causal consistency.
func txnPrewriteChecksForUpdateTS(ctx context.Context, e *env) error {
	return withTxnClient(ctx, e, func(c *txnkv.Client) error {
		for _, m := range []struct{ async, onePC, causal bool }{{false, false, false}, {true, false, false}, {true, true, false}, {true, false, true}} {
			if err := prewriteCheckForUpdateTS(ctx, c, m.async, m.onePC, m.causal); err != nil {
				return fmt.Errorf("async commit %v, 1PC %v, causal %v: %w", m.async, m.onePC, m.causal, err)
			}
		}
		return nil
	})
}

func prewriteCheckForUpdateTS(ctx context.Context, c *txnkv.Client, async, onePC, causal bool) error {
	keys := txnKeys("for-update-ts", 4)
	k1, k2, k3, k4 := keys[0], keys[1], keys[2], keys[3]
	v1, v2 := []byte("v1"), []byte("v2")
	if err := deleteKeys(ctx, c, keys); err != nil {
		return err
	}
	begin := func() (transaction.TxnProbe, error) {
		txn, err := beginPessimistic(c)
		if err != nil {
			return transaction.TxnProbe{}, err
		}
		txn.SetEnableAsyncCommit(async)
		txn.SetEnable1PC(onePC)
		txn.SetCausalConsistency(causal)
		return transaction.TxnProbe{KVTxn: txn}, nil
	}
	// The failing case.
	txn, err := begin()
	if err != nil {
		return err
	}
	txn.StartAggressiveLocking()
	lockTime := time.Now()
	lockCtx := kv.NewLockCtx(txn.StartTS(), 200, lockTime)
	for _, k := range [][]byte{k1, k2, k3} {
		if err := txn.LockKeys(ctx, lockCtx, k); err != nil {
			return fmt.Errorf("lock %q: %w", k, err)
		}
	}
	txn.DoneAggressiveLocking(ctx)
	if err := txn.Set(k1, v1); err != nil {
		return err
	}
	txn.GetCommitter().CloseTTLManager()
	simulated, err := txn.NewCommitter(1)
	if err != nil {
		return err
	}
	// The pessimistic lock on k1 is lost.
	lost := transaction.NewPlainMutations(1)
	lost.Push(kvrpcpb.Op_PessimisticLock, k1, nil, true, false, false, false)
	simulated.SetForUpdateTS(simulated.GetStartTS())
	if err := simulated.PessimisticRollbackMutations(ctx, &lost); err != nil {
		return err
	}
	// Another transaction writes k1.
	txn2, err := commitWrites(ctx, c, map[string][]byte{string(k1): v2}, nil)
	if err != nil {
		return err
	}
	// A stale lock request of the first transaction is replayed on TiKV.
	stale, err := begin()
	if err != nil {
		return err
	}
	stale.SetStartTS(txn.StartTS())
	stale.StartAggressiveLocking()
	if err := stale.LockKeys(ctx, kv.NewLockCtx(txn.StartTS(), 200, lockTime), k1); err != nil {
		return fmt.Errorf("replayed lock: %w", err)
	}
	info := stale.GetAggressiveLockingKeysInfo()
	if err := expect(len(info) == 1 && bytes.Equal(info[0].Key(), k1) && info[0].ActualLockForUpdateTS() == txn2.CommitTS(),
		"replayed lock: %d keys locked, want k1 locked with for_update_ts %d", len(info), txn2.CommitTS()); err != nil {
		return err
	}
	stale.DoneAggressiveLocking(ctx)
	defer stale.Rollback()
	err = txn.Commit(ctx)
	// client-go's own test matches the message; TiKV gives this error no KeyError field of its own.
	if err == nil || !regexp.MustCompile("[pP]essimistic ?[lL]ock ?[nN]ot ?[fF]ound").MatchString(err.Error()) {
		return fmt.Errorf("commit after the lock was lost: %v, want PessimisticLockNotFound", err)
	}
	if err := expectSnapshot(ctx, c, txn2.CommitTS(), [][]byte{k1}, map[string][]byte{string(k1): v2}); err != nil {
		return err
	}
	if err := expectSnapshot(ctx, c, txn2.CommitTS()-1, [][]byte{k1}, nil); err != nil {
		return err
	}
	// The passing case: k2 has a newer version than the transaction's start ts.
	txn, err = begin()
	if err != nil {
		return err
	}
	if _, err := commitWrites(ctx, c, map[string][]byte{string(k2): v2}, nil); err != nil {
		return err
	}
	txn.StartAggressiveLocking()
	lockCtx = kv.NewLockCtx(txn.StartTS(), 200, lockTime)
	if err := txn.LockKeys(ctx, lockCtx, k2); err != nil {
		return fmt.Errorf("lock the conflicting key: %w", err)
	}
	if err := txn.LockKeys(ctx, lockCtx, k3); err != nil {
		return err
	}
	// A key is locked with conflict: a new for_update_ts must be taken before committing.
	forUpdateTS, err := now(c)
	if err != nil {
		return err
	}
	if err := txn.LockKeys(ctx, kv.NewLockCtx(forUpdateTS, 200, lockTime), k4); err != nil {
		return err
	}
	if err := txn.Set(k2, v1); err != nil {
		return err
	}
	if err := txn.Set(k3, v1); err != nil {
		return err
	}
	txn.DoneAggressiveLocking(ctx)
	if err := txn.Commit(ctx); err != nil {
		return fmt.Errorf("commit with a key locked with conflict: %w", err)
	}
	if err := expectSnapshot(ctx, c, txn.CommitTS(), [][]byte{k2, k3}, map[string][]byte{string(k2): v1, string(k3): v1}); err != nil {
		return err
	}
	return expectSnapshot(ctx, c, txn.CommitTS()-1, [][]byte{k2, k3}, map[string][]byte{string(k2): v2})
}
