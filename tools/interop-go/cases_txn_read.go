package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pingcap/kvproto/pkg/kvrpcpb"
	tikverr "github.com/tikv/client-go/v2/error"
	"github.com/tikv/client-go/v2/kv"
	"github.com/tikv/client-go/v2/oracle"
	"github.com/tikv/client-go/v2/tikv"
	"github.com/tikv/client-go/v2/tikvrpc"
	"github.com/tikv/client-go/v2/tikvrpc/interceptor"
	"github.com/tikv/client-go/v2/txnkv"
	"github.com/tikv/client-go/v2/txnkv/txnsnapshot"
)

// Transactional checks about where and when a read is served (stale reads, follower reads) and
// KVStore.GC. Registered in cases_txn.go.

// sent is one request a snapshot made, as its RPC interceptor saw it.
type sent struct {
	cmd         tikvrpc.CmdType
	target      string
	staleRead   bool
	replicaRead bool
	regionError string // "data_is_not_ready", "other: ..." or "" for none
}

// recorder records every request a snapshot sends.
type recorder struct {
	mu   sync.Mutex
	reqs []sent
}

func (r *recorder) attach(s *txnsnapshot.KVSnapshot) {
	s.AddRPCInterceptor(interceptor.NewRPCInterceptor("interop-recorder", func(next interceptor.RPCInterceptorFunc) interceptor.RPCInterceptorFunc {
		return func(target string, req *tikvrpc.Request) (*tikvrpc.Response, error) {
			resp, err := next(target, req)
			one := sent{cmd: req.Type, target: target, staleRead: req.StaleRead, replicaRead: req.ReplicaRead}
			if err == nil && resp != nil {
				if re, _ := resp.GetRegionError(); re != nil {
					one.regionError = "other: " + re.String()
					if re.GetDataIsNotReady() != nil {
						one.regionError = "data_is_not_ready"
					}
				}
			}
			r.mu.Lock()
			r.reqs = append(r.reqs, one)
			r.mu.Unlock()
			return resp, err
		}
	}))
}

func (r *recorder) all() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sent(nil), r.reqs...)
}

func isRead(cmd tikvrpc.CmdType) bool {
	return cmd == tikvrpc.CmdGet || cmd == tikvrpc.CmdBatchGet || cmd == tikvrpc.CmdScan
}

// reads is every read recorded; lock resolution a read triggers (CheckTxnStatus, ResolveLock)
// goes through the same context and is left out.
func (r *recorder) reads() []sent {
	var out []sent
	for _, s := range r.all() {
		if isRead(s.cmd) {
			out = append(out, s)
		}
	}
	return out
}

// leaderAddrs maps each key's region leader to its store address, as PD reports it.
func leaderAddrs(ctx context.Context, c *txnkv.Client, keys [][]byte) (map[string]bool, error) {
	out := map[string]bool{}
	for _, k := range keys {
		r, err := c.GetPDClient().GetRegion(ctx, k)
		if err != nil {
			return nil, err
		}
		s, err := c.GetPDClient().GetStore(ctx, r.Leader.GetStoreId())
		if err != nil {
			return nil, err
		}
		out[s.GetAddress()] = true
	}
	return out, nil
}

// txnStaleRead: the client's own view of the stores' safe ts (GetStoreSafeTS, polled by the
// KVStore) passes a commit; a stale read below it is served from any replica with no fallback;
// a stale read above a region's oldest lock gets DataIsNotReady and falls back to the leader.
func txnStaleRead(ctx context.Context, e *env) error {
	return withTxnClient(ctx, e, func(c *txnkv.Client) error {
		keys := txnKeys("stale", 4)
		t1, err := commitWrites(ctx, c, valuesOf(keys, func(int) string { return "old" }), nil)
		if err != nil {
			return err
		}
		t2, err := commitWrites(ctx, c, valuesOf(keys, func(int) string { return "new" }), nil)
		if err != nil {
			return err
		}
		for c.GetMinSafeTS(oracle.GlobalTxnScope) < t2.CommitTS() {
			select {
			case <-ctx.Done():
				return fmt.Errorf("the client's min safe ts stayed at %d, below %d (%s)",
					c.GetMinSafeTS(oracle.GlobalTxnScope), t2.CommitTS(), safeTSDiagnosis(c))
			case <-time.After(50 * time.Millisecond):
			}
		}
		snap := c.GetSnapshot(t1.CommitTS())
		snap.SetIsStalenessReadOnly(true)
		var rec recorder
		rec.attach(snap)
		if err := expectSnapshotOf(ctx, snap, keys, valuesOf(keys, func(int) string { return "old" })); err != nil {
			return err
		}
		reqs := rec.reads()
		for _, r := range reqs {
			if !r.staleRead || r.regionError != "" {
				return fmt.Errorf("stale read below the safe ts: request %+v (all: %+v)", r, reqs)
			}
		}
		// A writer that died after prewrite holds the safe ts of keys[0]'s region below its lock.
		if _, err := crashedWriter(ctx, c, keys[:1], "crashed", shortTTL, false, false); err != nil {
			return err
		}
		ts, err := now(c)
		if err != nil {
			return err
		}
		above := c.GetSnapshot(ts)
		above.SetIsStalenessReadOnly(true)
		var rec2 recorder
		rec2.attach(above)
		got, err := above.Get(ctx, keys[0])
		if err != nil {
			return fmt.Errorf("stale read above the lock: %w", err)
		}
		if err := expect(string(got.Value) == "new", "stale read above the lock read %q", got.Value); err != nil {
			return err
		}
		reqs = rec2.reads()
		if err := expect(len(reqs) >= 2 && reqs[0].staleRead && reqs[0].regionError == "data_is_not_ready" &&
			!reqs[len(reqs)-1].staleRead && reqs[len(reqs)-1].regionError == "",
			"stale read above the lock: requests %+v; want DataIsNotReady, then a read that is not stale", reqs); err != nil {
			return err
		}
		return deleteKeys(ctx, c, keys)
	})
}

// safeTSDiagnosis lists what holds a safe ts back: the locks left anywhere, and each store's safe ts.
func safeTSDiagnosis(c *txnkv.Client) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	locks, err := tikv.StoreProbe{KVStore: c.KVStore}.ScanLocks(ctx, []byte{}, []byte{0xff}, ^uint64(0))
	out := fmt.Sprintf("locks %v (%v)", locks, err)
	stores, err := c.GetPDClient().GetAllStores(ctx)
	if err != nil {
		return out + fmt.Sprintf("; stores: %v", err)
	}
	for _, s := range stores {
		req := tikvrpc.NewRequest(tikvrpc.CmdStoreSafeTS, &kvrpcpb.StoreSafeTSRequest{KeyRange: &kvrpcpb.KeyRange{}})
		resp, err := c.GetTiKVClient().SendRequest(ctx, s.GetAddress(), req, 5*time.Second)
		out += fmt.Sprintf("; store %d safe ts: %v %v", s.GetId(), resp, err)
	}
	return out
}

// expectSnapshotOf checks that snap reads exactly want for keys.
func expectSnapshotOf(ctx context.Context, snap *txnsnapshot.KVSnapshot, keys [][]byte, want map[string][]byte) error {
	got, err := snap.BatchGet(ctx, keys)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if string(got[string(k)].Value) != string(want[string(k)]) {
			return fmt.Errorf("key %q reads %q, want %q", k, got[string(k)].Value, want[string(k)])
		}
	}
	return nil
}

// txnFollowerRead: a follower read (replica_read) sees the latest commit, and reports a crashed
// writer's lock, which the reader resolves.
func txnFollowerRead(ctx context.Context, e *env) error {
	return withTxnClient(ctx, e, func(c *txnkv.Client) error {
		keys := txnKeys("follower", 4)
		vals := valuesOf(keys, func(i int) string { return fmt.Sprintf("f%d", i) })
		if _, err := commitWrites(ctx, c, vals, nil); err != nil {
			return err
		}
		leaders, err := leaderAddrs(ctx, c, keys)
		if err != nil {
			return err
		}
		if _, err := crashedWriter(ctx, c, keys[2:3], "crashed", shortTTL, false, false); err != nil {
			return err
		}
		ts, err := now(c)
		if err != nil {
			return err
		}
		snap := c.GetSnapshot(ts)
		snap.SetReplicaRead(kv.ReplicaReadFollower)
		var rec recorder
		rec.attach(snap)
		if err := expectSnapshotOf(ctx, snap, keys, vals); err != nil {
			return err
		}
		reqs := rec.reads()
		for _, r := range reqs {
			if !r.replicaRead || leaders[r.target] || r.regionError != "" {
				return fmt.Errorf("follower read: request %+v (leaders %v; all: %+v)", r, leaders, reqs)
			}
		}
		return deleteKeys(ctx, c, keys)
	})
}

// txnIsolationRC: read-committed reads ignore locks (no lock resolution at all) and read the newest
// version at their ts; RCCheckTS reads fail with a write conflict when a newer version or a lock
// exists.
func txnIsolationRC(ctx context.Context, e *env) error {
	return withTxnClient(ctx, e, func(c *txnkv.Client) error {
		keys := txnKeys("rc", 1)
		k := keys[0]
		if _, err := commitWrites(ctx, c, map[string][]byte{string(k): []byte("v1")}, nil); err != nil {
			return err
		}
		t2, err := commitWrites(ctx, c, map[string][]byte{string(k): []byte("v2")}, nil)
		if err != nil {
			return err
		}
		locker, err := crashedWriter(ctx, c, keys, "crashed", shortTTL, false, false)
		if err != nil {
			return err
		}
		ts, err := now(c)
		if err != nil {
			return err
		}
		for _, tc := range []struct {
			ts   uint64
			want string
		}{{ts, "v2"}, {t2.CommitTS() - 1, "v1"}} {
			snap := c.GetSnapshot(tc.ts)
			snap.SetIsolationLevel(txnkv.RC)
			var rec recorder
			rec.attach(snap)
			got, err := snap.Get(ctx, k)
			if err != nil {
				return fmt.Errorf("RC read at %d: %w", tc.ts, err)
			}
			if err := expect(string(got.Value) == tc.want, "RC read at %d: %q, want %q", tc.ts, got.Value, tc.want); err != nil {
				return err
			}
			all := rec.all()
			if err := expect(len(all) == 1 && isRead(all[0].cmd), "RC read at %d sent %+v; want one read", tc.ts, all); err != nil {
				return err
			}
		}
		for _, at := range []uint64{t2.CommitTS() - 1, ts} {
			snap := c.GetSnapshot(at)
			snap.SetIsolationLevel(txnkv.RCCheckTS)
			_, err := snap.Get(ctx, k)
			if !tikverr.IsErrWriteConflict(err) {
				return fmt.Errorf("RCCheckTS read at %d (newer commit %d, lock %d): %v, want a write conflict", at, t2.CommitTS(), locker, err)
			}
		}
		if err := awaitExpiry(ctx, c, locker, shortTTL); err != nil {
			return err
		}
		return deleteKeys(ctx, c, keys)
	})
}

// txnGC: KVStore.GC advances the txn safe point, resolves every lock below it (here a crashed
// writer's, with a TTL far in the future) and advances the GC safe point; a client started
// afterwards refuses a snapshot read below the safe point and reads the newest version at it.
func txnGC(ctx context.Context, e *env) error {
	return withTxnClient(ctx, e, func(c *txnkv.Client) error {
		keys := txnKeys("gc", 2)
		k, locked := keys[0], keys[1]
		t1, err := commitWrites(ctx, c, map[string][]byte{string(k): []byte("v1")}, nil)
		if err != nil {
			return err
		}
		if _, err := commitWrites(ctx, c, map[string][]byte{string(k): []byte("v2")}, nil); err != nil {
			return err
		}
		stranded, err := crashedWriter(ctx, c, [][]byte{locked}, "stranded", 60_000, false, false)
		if err != nil {
			return err
		}
		safePoint, err := now(c)
		if err != nil {
			return err
		}
		got, err := c.GC(ctx, safePoint)
		if err != nil {
			return fmt.Errorf("GC: %w", err)
		}
		if err := expect(got == safePoint, "GC reached safe point %d, want %d", got, safePoint); err != nil {
			return err
		}
		if err := expectNoLocks(ctx, c, stranded); err != nil {
			return fmt.Errorf("after GC: %w", err)
		}
		// A store loads the txn safe point when it starts (and then every 10 s).
		fresh, err := newTxnClient(e)
		if err != nil {
			return err
		}
		defer fresh.Close()
		{
			_, err := fresh.GetSnapshot(t1.CommitTS()).Get(ctx, k)
			var aborted *tikverr.ErrTxnAbortedByGC
			if !errors.As(err, &aborted) {
				return fmt.Errorf("read below the safe point: %v, want ErrTxnAbortedByGC", err)
			}
			if err := expect(aborted.TxnSafePoint == safePoint, "refusal names safe point %d, want %d", aborted.TxnSafePoint, safePoint); err != nil {
				return err
			}
			if err := expectSnapshot(ctx, fresh, safePoint, keys, map[string][]byte{string(k): []byte("v2")}); err != nil {
				return err
			}
		}
		return deleteKeys(ctx, c, keys)
	})
}
