package main

import (
	"context"
	"fmt"

	"github.com/tikv/client-go/v2/txnkv"
	"github.com/tikv/client-go/v2/txnkv/transaction"
)

// Transactional checks of the commit protocols besides plain 2PC: async commit, 1PC and causal
// consistency. Registered in cases_txn.go.

// committerOf is the committer client-go used for txn's last commit.
func committerOf(txn *txnkv.KVTxn) transaction.CommitterProbe {
	return transaction.TxnProbe{KVTxn: txn}.GetCommitter()
}

// txnAsyncCommit: an async-commit transaction over four regions commits at a ts TiKV computed;
// every key is visible from there and not below.
func txnAsyncCommit(ctx context.Context, e *env) error {
	return withTxnClient(ctx, e, func(c *txnkv.Client) error {
		keys := txnKeys("async", 8)
		txn, err := c.Begin()
		if err != nil {
			return err
		}
		txn.SetEnableAsyncCommit(true)
		vals := valuesOf(keys, func(i int) string { return fmt.Sprintf("async-%d", i) })
		for k, v := range vals {
			if err := txn.Set([]byte(k), v); err != nil {
				return err
			}
		}
		if err := txn.Commit(ctx); err != nil {
			return err
		}
		if err := expect(committerOf(txn).IsAsyncCommit(), "the commit did not use async commit"); err != nil {
			return err
		}
		ct := txn.CommitTS()
		if err := expect(ct > txn.StartTS(), "commit ts %d <= start ts %d", ct, txn.StartTS()); err != nil {
			return err
		}
		if err := expectSnapshot(ctx, c, ct-1, keys, nil); err != nil {
			return err
		}
		if err := expectSnapshot(ctx, c, ct, keys, vals); err != nil {
			return err
		}
		return deleteKeys(ctx, c, keys)
	})
}

// txnOnePC: keys in one region commit in one round trip (TiKV's one_pc_commit_ts); keys in several
// regions fall back to 2PC.
func txnOnePC(ctx context.Context, e *env) error {
	return withTxnClient(ctx, e, func(c *txnkv.Client) error {
		all := txnKeys("1pc", 16)
		var one [][]byte
		for _, k := range all {
			if k[0] == 0x50 {
				one = append(one, k)
			}
		}
		for _, tc := range []struct {
			keys  [][]byte
			onePC bool
		}{{one, true}, {all, false}} {
			txn, err := c.Begin()
			if err != nil {
				return err
			}
			txn.SetEnable1PC(true)
			vals := valuesOf(tc.keys, func(i int) string { return fmt.Sprintf("1pc-%d", i) })
			for k, v := range vals {
				if err := txn.Set([]byte(k), v); err != nil {
					return err
				}
			}
			if err := txn.Commit(ctx); err != nil {
				return err
			}
			cm := committerOf(txn)
			if err := expect(cm.IsOnePC() == tc.onePC, "%d keys: 1PC %v, want %v", len(tc.keys), cm.IsOnePC(), tc.onePC); err != nil {
				return err
			}
			if tc.onePC {
				if err := expect(cm.GetOnePCCommitTS() == txn.CommitTS() && txn.CommitTS() > txn.StartTS(),
					"1PC commit ts %d, txn commit ts %d, start %d", cm.GetOnePCCommitTS(), txn.CommitTS(), txn.StartTS()); err != nil {
					return err
				}
			}
			if err := expectSnapshot(ctx, c, txn.CommitTS()-1, tc.keys, nil); err != nil {
				return err
			}
			if err := expectSnapshot(ctx, c, txn.CommitTS(), tc.keys, vals); err != nil {
				return err
			}
			if err := deleteKeys(ctx, c, tc.keys); err != nil {
				return err
			}
		}
		return nil
	})
}

// txnCausal: with causal consistency client-go takes no fresh TSO for async commit / 1PC; a
// transaction that read another's write must still commit after it.
func txnCausal(ctx context.Context, e *env) error {
	return withTxnClient(ctx, e, func(c *txnkv.Client) error {
		keys := txnKeys("causal", 4)
		for _, mode := range []string{"async-commit", "1pc"} {
			begin := func() (*txnkv.KVTxn, error) {
				txn, err := c.Begin()
				if err != nil {
					return nil, err
				}
				txn.SetCausalConsistency(true)
				if mode == "1pc" {
					txn.SetEnable1PC(true)
				} else {
					txn.SetEnableAsyncCommit(true)
				}
				return txn, nil
			}
			t1, err := begin()
			if err != nil {
				return err
			}
			if err := t1.Set(keys[0], []byte(mode)); err != nil {
				return err
			}
			if err := t1.Commit(ctx); err != nil {
				return err
			}
			t2, err := begin()
			if err != nil {
				return err
			}
			got, err := t2.Get(ctx, keys[0])
			if err != nil {
				return err
			}
			if err := expect(string(got.Value) == mode, "%s: t2 read %q", mode, got.Value); err != nil {
				return err
			}
			if err := t2.Set(keys[1], []byte(mode)); err != nil {
				return err
			}
			if err := t2.Commit(ctx); err != nil {
				return err
			}
			if err := expect(t2.CommitTS() > t1.CommitTS(), "%s: t2 committed at %d, not after t1's %d", mode, t2.CommitTS(), t1.CommitTS()); err != nil {
				return err
			}
			ts, err := now(c)
			if err != nil {
				return err
			}
			want := map[string][]byte{string(keys[0]): []byte(mode), string(keys[1]): []byte(mode)}
			if err := expectSnapshot(ctx, c, ts, keys[:2], want); err != nil {
				return fmt.Errorf("%s: %w", mode, err)
			}
		}
		return deleteKeys(ctx, c, keys)
	})
}
