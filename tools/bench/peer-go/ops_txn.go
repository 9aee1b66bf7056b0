package main

// Transactional operations of the peer benchmark: the same names, keys and sizes as the
// TypeScript worker's txn operations (tools/bench/src/peer-ops.ts). Each commit writes two fresh
// keys (the i-th pair of the measurement), so concurrent transactions never conflict.

import (
	"fmt"
	"sync"

	"github.com/tikv/client-go/v2/txnkv"
)

var (
	txnOnce sync.Once
	txnCli  *txnkv.Client
	txnErr  error
)

func txnClient(e *env) (*txnkv.Client, error) {
	txnOnce.Do(func() { txnCli, txnErr = txnkv.NewClient(e.pdAddrs) })
	return txnCli, txnErr
}

// commitKeys is the i-th pair of keys a commit operation writes (16 bytes each for i < 10^6).
func commitKeys(name string, i int) ([]byte, []byte) {
	k := fmt.Sprintf("bench-%s-%06d", name, i%1000000)
	return []byte(k + "a"), []byte(k + "b")
}

func registerCommit(name string, asyncCommit, onePC bool) {
	register(name, func(e *env) (op, error) {
		c, err := txnClient(e)
		if err != nil {
			return nil, err
		}
		return func(i int) error {
			txn, err := c.Begin()
			if err != nil {
				return err
			}
			txn.SetEnableAsyncCommit(asyncCommit)
			txn.SetEnable1PC(onePC)
			a, b := commitKeys(name, i)
			if err := txn.Set(a, e.value); err != nil {
				return err
			}
			if err := txn.Set(b, e.value); err != nil {
				return err
			}
			return txn.Commit(e.ctx)
		}, nil
	})
}

func init() {
	registerCommit("commit2pc", false, false)
	registerCommit("commitAsync", true, false)
	registerCommit("commit1pc", false, true)
	register("snapshotBatchGet", func(e *env) (op, error) {
		c, err := txnClient(e)
		if err != nil {
			return nil, err
		}
		txn, err := c.Begin()
		if err != nil {
			return nil, err
		}
		for _, k := range e.keys {
			if err := txn.Set(k, e.value); err != nil {
				return nil, err
			}
		}
		if err := txn.Commit(e.ctx); err != nil {
			return nil, err
		}
		ts, err := c.CurrentTimestamp("global")
		if err != nil {
			return nil, err
		}
		batches := len(e.keys) / batchKeys
		return func(i int) error {
			start := (i % batches) * batchKeys
			// A snapshot per read, as the TypeScript side does: no cache across operations.
			_, err := c.GetSnapshot(ts).BatchGet(e.ctx, e.keys[start:start+batchKeys])
			return err
		}, nil
	})
}
