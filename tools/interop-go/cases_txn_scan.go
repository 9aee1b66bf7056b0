package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/tikv/client-go/v2/txnkv"
)

// Transactional scans. Registered in cases_txn.go.

// kvIter is what txnsnapshot and the transaction's union store iterators have in common.
type kvIter interface {
	Valid() bool
	Key() []byte
	Value() []byte
	Next() error
	Close()
}

// collector drains an iterator (straight from Iter/IterReverse), keeping the keys and values of
// the keys that contain marker (other checks' keys may share the range).
func collector(marker string) func(it kvIter, err error) ([]string, []string, error) {
	return func(it kvIter, err error) ([]string, []string, error) {
		if err != nil {
			return nil, nil, err
		}
		defer it.Close()
		var ks, vs []string
		for it.Valid() {
			if strings.Contains(string(it.Key()), marker) {
				ks = append(ks, string(it.Key()))
				vs = append(vs, string(it.Value()))
			}
			if err := it.Next(); err != nil {
				return nil, nil, err
			}
		}
		return ks, vs, nil
	}
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i := range s {
		out[len(s)-1-i] = s[i]
	}
	return out
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// txnScans: forward and reverse scans over four regions at two versions, with a small batch size
// (many KvScan calls, each resuming where the last stopped), key-only, and a transaction's scan
// merging its own uncommitted writes.
func txnScans(ctx context.Context, e *env) error {
	return withTxnClient(ctx, e, func(c *txnkv.Client) error {
		keys := txnKeys("scan", 40)
		v1 := valuesOf(keys, func(i int) string { return fmt.Sprintf("a%d", i) })
		t1, err := commitWrites(ctx, c, v1, nil)
		if err != nil {
			return err
		}
		t2, err := commitWrites(ctx, c, map[string][]byte{string(keys[0]): []byte("b0")}, keys[1:2])
		if err != nil {
			return err
		}
		sorted := make([]string, len(keys))
		for i, k := range keys {
			sorted[i] = string(k)
		}
		sort.Strings(sorted)
		lo, hi := span()
		collect := collector("t-scan-")
		for _, batch := range []int{256, 7} {
			snap := c.GetSnapshot(t1.CommitTS())
			snap.SetScanBatchSize(batch)
			ks, vs, err := collect(snap.Iter(lo, hi))
			if err != nil {
				return fmt.Errorf("scan (batch %d): %w", batch, err)
			}
			if err := expect(sameStrings(ks, sorted), "scan (batch %d) at the first commit saw %d keys, want %d in order", batch, len(ks), len(sorted)); err != nil {
				return err
			}
			for i, k := range ks {
				if vs[i] != string(v1[k]) {
					return fmt.Errorf("scan value of %q: %q", k, vs[i])
				}
			}
			rk, _, err := collect(snap.IterReverse(hi, lo))
			if err != nil {
				return fmt.Errorf("reverse scan (batch %d): %w", batch, err)
			}
			if err := expect(sameStrings(rk, reversed(sorted)), "reverse scan (batch %d) saw %d keys, want %d descending", batch, len(rk), len(sorted)); err != nil {
				return err
			}
		}
		// At the second commit: keys[0] rewritten, keys[1] gone.
		snap := c.GetSnapshot(t2.CommitTS())
		ks, vs, err := collect(snap.Iter(lo, hi))
		if err != nil {
			return err
		}
		want := make([]string, 0, len(sorted))
		for _, k := range sorted {
			if k != string(keys[1]) {
				want = append(want, k)
			}
		}
		if err := expect(sameStrings(ks, want), "scan at the second commit: %d keys, want %d", len(ks), len(want)); err != nil {
			return err
		}
		for i, k := range ks {
			if k == string(keys[0]) && vs[i] != "b0" {
				return fmt.Errorf("rewritten key scans %q", vs[i])
			}
		}
		keyOnly := c.GetSnapshot(t2.CommitTS())
		keyOnly.SetKeyOnly(true)
		ko, kv, err := collect(keyOnly.Iter(lo, hi))
		if err != nil {
			return err
		}
		if err := expect(sameStrings(ko, want) && kv[0] == "", "key-only scan: %d keys, first value %q", len(ko), kv[0]); err != nil {
			return err
		}
		// A transaction's own writes merge into its scan.
		txn, err := c.Begin()
		if err != nil {
			return err
		}
		extra := append([]byte{0x90}, "t-scan-extra"...)
		if err := txn.Set(extra, []byte("x")); err != nil {
			return err
		}
		if err := txn.Delete(keys[2]); err != nil {
			return err
		}
		tk, _, err := collect(txn.Iter(lo, hi))
		if err != nil {
			return err
		}
		_ = txn.Rollback()
		has := func(s []string, k string) bool {
			for _, x := range s {
				if x == k {
					return true
				}
			}
			return false
		}
		if err := expect(len(tk) == len(want) && has(tk, string(extra)) && !has(tk, string(keys[2])), "transaction scan: %d keys (extra %v, deleted %v)", len(tk), has(tk, string(extra)), has(tk, string(keys[2]))); err != nil {
			return err
		}
		return deleteKeys(ctx, c, keys)
	})
}
