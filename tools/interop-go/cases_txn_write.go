package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	tikverr "github.com/tikv/client-go/v2/error"
	"github.com/tikv/client-go/v2/kv"
	"github.com/tikv/client-go/v2/tikv"
	"github.com/tikv/client-go/v2/txnkv"
)

// Transactional checks of what a prewrite checks besides conflicts (Insert, CheckNotExists,
// assertions) and of pipelined DML. Registered in cases_txn.go.

// txnInsert: an Insert (a Set presumed not to exist) of an existing key fails with AlreadyExist
// naming the key; so does an optimistic delete-your-write of it (CheckNotExists); an Insert of an
// absent key commits.
func txnInsert(ctx context.Context, e *env) error {
	return withTxnClient(ctx, e, func(c *txnkv.Client) error {
		keys := txnKeys("insert", 2)
		present, absent := keys[0], keys[1]
		if _, err := commitWrites(ctx, c, map[string][]byte{string(present): []byte("v")}, nil); err != nil {
			return err
		}
		for _, deleteAfter := range []bool{false, true} {
			txn, err := c.Begin()
			if err != nil {
				return err
			}
			if err := txn.GetMemBuffer().SetWithFlags(present, []byte("dup"), kv.SetPresumeKeyNotExists); err != nil {
				return err
			}
			if deleteAfter {
				if err := txn.Delete(present); err != nil {
					return err
				}
			}
			err = txn.Commit(ctx)
			var exists *tikverr.ErrKeyExist
			if !errors.As(err, &exists) || !bytes.Equal(exists.GetKey(), present) {
				return fmt.Errorf("insert over an existing key (then deleted: %v): %v, want AlreadyExist on %q", deleteAfter, err, present)
			}
		}
		txn, err := c.Begin()
		if err != nil {
			return err
		}
		if err := txn.GetMemBuffer().SetWithFlags(absent, []byte("new"), kv.SetPresumeKeyNotExists); err != nil {
			return err
		}
		if err := txn.Commit(ctx); err != nil {
			return fmt.Errorf("insert of an absent key: %w", err)
		}
		want := map[string][]byte{string(present): []byte("v"), string(absent): []byte("new")}
		if err := expectSnapshot(ctx, c, txn.CommitTS(), keys, want); err != nil {
			return err
		}
		return deleteKeys(ctx, c, keys)
	})
}

// txnAssertions: with assertion level Strict, a prewrite asserting the wrong existence fails with
// AssertionFailed naming the key, the assertion and the existing version; right ones commit.
func txnAssertions(ctx context.Context, e *env) error {
	return withTxnClient(ctx, e, func(c *txnkv.Client) error {
		keys := txnKeys("assert", 2)
		present, absent := keys[0], keys[1]
		put, err := commitWrites(ctx, c, map[string][]byte{string(present): []byte("v")}, nil)
		if err != nil {
			return err
		}
		for _, tc := range []struct {
			key       []byte
			flag      kv.FlagsOp
			assertion kvrpcpb.Assertion
			existing  uint64
		}{
			{present, kv.SetAssertNotExist, kvrpcpb.Assertion_NotExist, put.StartTS()},
			{absent, kv.SetAssertExist, kvrpcpb.Assertion_Exist, 0},
		} {
			txn, err := c.Begin()
			if err != nil {
				return err
			}
			txn.SetAssertionLevel(kvrpcpb.AssertionLevel_Strict)
			if err := txn.GetMemBuffer().SetWithFlags(tc.key, []byte("x"), tc.flag); err != nil {
				return err
			}
			err = txn.Commit(ctx)
			var failed *tikverr.ErrAssertionFailed
			if !errors.As(err, &failed) {
				return fmt.Errorf("assert %v on %q: %v, want AssertionFailed", tc.assertion, tc.key, err)
			}
			if err := expect(bytes.Equal(failed.GetKey(), tc.key) && failed.GetAssertion() == tc.assertion &&
				failed.GetStartTs() == txn.StartTS() && failed.GetExistingStartTs() == tc.existing,
				"assertion failure %v; want key %q, %v, start %d, existing start %d", failed.AssertionFailed, tc.key, tc.assertion, txn.StartTS(), tc.existing); err != nil {
				return err
			}
		}
		txn, err := c.Begin()
		if err != nil {
			return err
		}
		txn.SetAssertionLevel(kvrpcpb.AssertionLevel_Strict)
		if err := txn.GetMemBuffer().SetWithFlags(present, []byte("y"), kv.SetAssertExist); err != nil {
			return err
		}
		if err := txn.GetMemBuffer().SetWithFlags(absent, []byte("y"), kv.SetAssertNotExist); err != nil {
			return err
		}
		if err := txn.Commit(ctx); err != nil {
			return fmt.Errorf("right assertions: %w", err)
		}
		return deleteKeys(ctx, c, keys)
	})
}

// txnPipelined: a pipelined transaction flushes its writes as locks (KvFlush) before commit,
// reads them back from TiKV's buffer (KvBufferBatchGet), stays invisible to others until it
// commits, then commits the rest.
func txnPipelined(ctx context.Context, e *env) error {
	return withTxnClient(ctx, e, func(c *txnkv.Client) error {
		keys := txnKeys("pipelined", 16)
		vals := valuesOf(keys, func(i int) string { return fmt.Sprintf("p%d", i) })
		txn, err := c.Begin(tikv.WithDefaultPipelinedTxn())
		if err != nil {
			return err
		}
		if err := expect(txn.IsPipelined(), "the transaction is not pipelined"); err != nil {
			return err
		}
		flushedKeys := keys[:8]
		for _, k := range flushedKeys {
			if err := txn.Set(k, vals[string(k)]); err != nil {
				return err
			}
		}
		flushed, err := txn.GetMemBuffer().Flush(true)
		if err != nil {
			return fmt.Errorf("flush: %w", err)
		}
		if err := expect(flushed, "forced flush did not flush"); err != nil {
			return err
		}
		if err := txn.GetMemBuffer().FlushWait(); err != nil {
			return fmt.Errorf("flush wait: %w", err)
		}
		for _, k := range flushedKeys {
			got, err := txn.GetMemBuffer().Get(ctx, k)
			if err != nil {
				return fmt.Errorf("buffer get of flushed %q: %w", k, err)
			}
			if err := expect(bytes.Equal(got.Value, vals[string(k)]), "buffer get of flushed %q: %q", k, got.Value); err != nil {
				return err
			}
		}
		ts, err := now(c)
		if err != nil {
			return err
		}
		if err := expectSnapshot(ctx, c, ts, keys, nil); err != nil {
			return fmt.Errorf("another reader before commit: %w", err)
		}
		for _, k := range keys[8:] {
			if err := txn.Set(k, vals[string(k)]); err != nil {
				return err
			}
		}
		if err := txn.Commit(ctx); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		if err := expectSnapshot(ctx, c, txn.CommitTS()-1, keys, nil); err != nil {
			return err
		}
		if err := expectSnapshot(ctx, c, txn.CommitTS(), keys, vals); err != nil {
			return err
		}
		return deleteKeys(ctx, c, keys)
	})
}
