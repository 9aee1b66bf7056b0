package main

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc64"
	"strings"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	"github.com/tikv/client-go/v2/rawkv"
)

// Raw KV checks: each works under its own key prefix (after a leading byte that spreads keys over
// the cluster's regions) and cleans up after itself.

func init() {
	register("raw", "put-get-delete", rawPutGetDelete)
	register("raw", "batch-across-regions", rawBatch)
	register("raw", "scan-across-regions", rawScan)
	register("raw", "delete-range-across-regions", rawDeleteRange)
	register("raw", "ttl", rawTTL)
	register("raw", "compare-and-swap", rawCAS)
	register("raw", "checksum-across-regions", rawChecksum)
	register("raw", "stale-region-cache-after-split", rawStaleCache)
}

func rawClient(ctx context.Context, e *env) (*rawkv.Client, error) {
	return rawkv.NewClientWithOpts(ctx, e.pdAddrs, rawkv.WithAPIVersion(e.apiVersion))
}

// withRaw runs fn with a fresh raw client and closes it.
func withRaw(ctx context.Context, e *env, fn func(c *rawkv.Client) error) error {
	c, err := rawClient(ctx, e)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer c.Close()
	return fn(c)
}

// spread returns n keys of one check, cycling their first byte over 0x10, 0x50, 0x90, 0xd0 so that
// they land in different regions of a cluster split at evenly spaced one-byte keys.
func spread(check string, n int) [][]byte {
	leads := []byte{0x10, 0x50, 0x90, 0xd0}
	out := make([][]byte, n)
	for i := range out {
		out[i] = append([]byte{leads[i%len(leads)]}, fmt.Sprintf("%s-%04d", check, i)...)
	}
	return out
}

// span is the [start, end) range that holds every key spread() makes for a check.
func span() ([]byte, []byte) { return []byte{0x10}, []byte{0xe0} }

func clearSpan(ctx context.Context, c *rawkv.Client) error {
	s, e := span()
	return c.DeleteRange(ctx, s, e)
}

func rawPutGetDelete(ctx context.Context, e *env) error {
	return withRaw(ctx, e, func(c *rawkv.Client) error {
		k := []byte("\x30interop-single")
		if err := c.Put(ctx, k, []byte("v1")); err != nil {
			return err
		}
		v, err := c.Get(ctx, k)
		if err != nil {
			return err
		}
		if err := expect(string(v) == "v1", "get after put: %q", v); err != nil {
			return err
		}
		if err := c.Delete(ctx, k); err != nil {
			return err
		}
		v, err = c.Get(ctx, k)
		if err != nil {
			return err
		}
		return expect(v == nil, "get after delete: %q", v)
	})
}

func rawBatch(ctx context.Context, e *env) error {
	return withRaw(ctx, e, func(c *rawkv.Client) error {
		keys := spread("batch", 64)
		vals := make([][]byte, len(keys))
		for i := range keys {
			vals[i] = []byte(fmt.Sprintf("value-%d", i))
		}
		if err := c.BatchPut(ctx, keys, vals); err != nil {
			return err
		}
		got, err := c.BatchGet(ctx, append(keys, []byte("\x20absent")))
		if err != nil {
			return err
		}
		for i := range keys {
			if !bytes.Equal(got[i], vals[i]) {
				return fmt.Errorf("batch get %q: %q, want %q", keys[i], got[i], vals[i])
			}
		}
		if err := expect(got[len(keys)] == nil, "absent key read %q", got[len(keys)]); err != nil {
			return err
		}
		if err := c.BatchDelete(ctx, keys[:32]); err != nil {
			return err
		}
		got, err = c.BatchGet(ctx, keys)
		if err != nil {
			return err
		}
		for i := range keys {
			if (i < 32) != (got[i] == nil) {
				return fmt.Errorf("after batch delete, key %d reads %q", i, got[i])
			}
		}
		return clearSpan(ctx, c)
	})
}

func rawScan(ctx context.Context, e *env) error {
	return withRaw(ctx, e, func(c *rawkv.Client) error {
		keys := spread("scan", 40)
		vals := make([][]byte, len(keys))
		for i := range keys {
			vals[i] = []byte{byte(i)}
		}
		if err := c.BatchPut(ctx, keys, vals); err != nil {
			return err
		}
		s, end := span()
		ks, _, err := c.Scan(ctx, s, end, 1000)
		if err != nil {
			return err
		}
		if err := expect(len(ks) == 40 && sortedAsc(ks), "scan saw %d keys (sorted: %v)", len(ks), sortedAsc(ks)); err != nil {
			return err
		}
		limited, _, err := c.Scan(ctx, s, end, 15)
		if err != nil {
			return err
		}
		if err := expect(len(limited) == 15 && bytes.Equal(limited[14], ks[14]), "limited scan: %d keys", len(limited)); err != nil {
			return err
		}
		only, vs, err := c.Scan(ctx, s, end, 1000, rawkv.ScanKeyOnly())
		if err != nil {
			return err
		}
		if err := expect(len(only) == 40 && len(vs[0]) == 0, "key-only scan: %d keys, first value %q", len(only), vs[0]); err != nil {
			return err
		}
		// Reverse scan: keys below the start, down to the end, descending.
		rev, _, err := c.ReverseScan(ctx, end, s, 1000)
		if err != nil {
			return err
		}
		if err := expect(len(rev) == 40 && bytes.Equal(rev[0], ks[39]) && bytes.Equal(rev[39], ks[0]), "reverse scan: %d keys", len(rev)); err != nil {
			return err
		}
		return clearSpan(ctx, c)
	})
}

func sortedAsc(ks [][]byte) bool {
	for i := 1; i < len(ks); i++ {
		if bytes.Compare(ks[i-1], ks[i]) >= 0 {
			return false
		}
	}
	return true
}

func rawDeleteRange(ctx context.Context, e *env) error {
	return withRaw(ctx, e, func(c *rawkv.Client) error {
		keys := spread("delrange", 32)
		vals := make([][]byte, len(keys))
		for i := range vals {
			vals[i] = []byte("x")
		}
		if err := c.BatchPut(ctx, keys, vals); err != nil {
			return err
		}
		// Delete [0x50, 0xd0): the keys led by 0x50 and 0x90, in two regions.
		if err := c.DeleteRange(ctx, []byte{0x50}, []byte{0xd0}); err != nil {
			return err
		}
		s, end := span()
		ks, _, err := c.Scan(ctx, s, end, 1000)
		if err != nil {
			return err
		}
		for _, k := range ks {
			if k[0] == 0x50 || k[0] == 0x90 {
				return fmt.Errorf("key %q survived delete range", k)
			}
		}
		if err := expect(len(ks) == 16, "%d keys left, want 16", len(ks)); err != nil {
			return err
		}
		return clearSpan(ctx, c)
	})
}

func rawTTL(ctx context.Context, e *env) error {
	return withRaw(ctx, e, func(c *rawkv.Client) error {
		k := []byte("\x30interop-ttl")
		err := c.PutWithTTL(ctx, k, []byte("v"), 600)
		if e.apiVersion == kvrpcpb.APIVersion_V1 {
			// TiKV refuses TTLs when its storage has TTL off (API V1).
			return expect(err != nil && strings.Contains(err.Error(), "ttl"), "V1 put with TTL: %v", err)
		}
		if err != nil {
			return err
		}
		ttl, err := c.GetKeyTTL(ctx, k)
		if err != nil {
			return err
		}
		if err := expect(ttl != nil && *ttl > 590 && *ttl <= 600, "TTL %v, want about 600", ttl); err != nil {
			return err
		}
		if err := c.Put(ctx, k, []byte("v")); err != nil {
			return err
		}
		ttl, err = c.GetKeyTTL(ctx, k)
		if err != nil {
			return err
		}
		if err := expect(ttl != nil && *ttl == 0, "TTL after a put without one: %v", ttl); err != nil {
			return err
		}
		if err := c.Delete(ctx, k); err != nil {
			return err
		}
		ttl, err = c.GetKeyTTL(ctx, k)
		if err != nil {
			return err
		}
		return expect(ttl == nil, "TTL of a deleted key: %v", ttl)
	})
}

func rawCAS(ctx context.Context, e *env) error {
	return withRaw(ctx, e, func(c *rawkv.Client) error {
		c.SetAtomicForCAS(true)
		k := []byte("\x30interop-cas")
		_ = c.Delete(ctx, k)
		prev, ok, err := c.CompareAndSwap(ctx, k, nil, []byte("a"))
		if err != nil {
			return err
		}
		if err := expect(ok && prev == nil, "CAS on an absent key: ok=%v prev=%q", ok, prev); err != nil {
			return err
		}
		prev, ok, err = c.CompareAndSwap(ctx, k, []byte("b"), []byte("c"))
		if err != nil {
			return err
		}
		if err := expect(!ok && string(prev) == "a", "CAS with a wrong value: ok=%v prev=%q", ok, prev); err != nil {
			return err
		}
		prev, ok, err = c.CompareAndSwap(ctx, k, []byte("a"), []byte("c"))
		if err != nil {
			return err
		}
		if err := expect(ok && string(prev) == "a", "CAS with the right value: ok=%v prev=%q", ok, prev); err != nil {
			return err
		}
		v, err := c.Get(ctx, k)
		if err != nil {
			return err
		}
		if err := expect(string(v) == "c", "value after CAS: %q", v); err != nil {
			return err
		}
		return c.Delete(ctx, k)
	})
}

func rawChecksum(ctx context.Context, e *env) error {
	return withRaw(ctx, e, func(c *rawkv.Client) error {
		keys := spread("checksum", 48)
		vals := make([][]byte, len(keys))
		table := crc64.MakeTable(crc64.ECMA)
		var want rawkv.RawChecksum
		// TiKV sums the keys as stored: with the `r` + keyspace prefix in API V2.
		var prefix []byte
		if e.apiVersion == kvrpcpb.APIVersion_V2 {
			prefix = []byte{'r', 0, 0, 0}
		}
		for i := range keys {
			vals[i] = []byte(fmt.Sprintf("v%d", i*7))
			digest := crc64.New(table)
			digest.Write(prefix)
			digest.Write(keys[i])
			digest.Write(vals[i])
			want.Crc64Xor ^= digest.Sum64()
			want.TotalKvs++
			want.TotalBytes += uint64(len(prefix) + len(keys[i]) + len(vals[i]))
		}
		if err := c.BatchPut(ctx, keys, vals); err != nil {
			return err
		}
		s, end := span()
		got, err := c.Checksum(ctx, s, end)
		if err != nil {
			return err
		}
		if err := expect(got == want, "checksum %+v, want %+v (CRC-64/XZ of key+value, xor)", got, want); err != nil {
			return err
		}
		return clearSpan(ctx, c)
	})
}

// rawStaleCache loads regions into the client's cache, splits one through PD, then reads and
// scans with the stale cache: client-go must recover from the epoch change.
func rawStaleCache(ctx context.Context, e *env) error {
	return withRaw(ctx, e, func(c *rawkv.Client) error {
		keys := spread("stale", 16)
		vals := make([][]byte, len(keys))
		for i := range vals {
			vals[i] = []byte("s")
		}
		if err := c.BatchPut(ctx, keys, vals); err != nil {
			return err
		}
		split := append([]byte{0x50}, "stale-0005"...)
		resp, err := c.GetPDClient().SplitRegions(ctx, [][]byte{split})
		if err != nil {
			return fmt.Errorf("split through PD: %w", err)
		}
		if err := expect(resp.GetFinishedPercentage() == 100, "split finished %d%%", resp.GetFinishedPercentage()); err != nil {
			return err
		}
		got, err := c.BatchGet(ctx, keys)
		if err != nil {
			return err
		}
		for i := range keys {
			if !bytes.Equal(got[i], vals[i]) {
				return fmt.Errorf("after split, %q reads %q", keys[i], got[i])
			}
		}
		s, end := span()
		ks, _, err := c.Scan(ctx, s, end, 1000)
		if err != nil {
			return err
		}
		if err := expect(len(ks) == 16, "scan after split: %d keys", len(ks)); err != nil {
			return err
		}
		return clearSpan(ctx, c)
	})
}
