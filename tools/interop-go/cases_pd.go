package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"time"

	"github.com/pingcap/kvproto/pkg/meta_storagepb"
	"github.com/pingcap/kvproto/pkg/pdpb"
	pd "github.com/tikv/pd/client"
	"github.com/tikv/pd/client/clients/gc"
	"github.com/tikv/pd/client/clients/router"
	"github.com/tikv/pd/client/constants"
	"github.com/tikv/pd/client/opt"
	"github.com/tikv/pd/client/pkg/caller"
	"google.golang.org/grpc"
)

// PD checks, through PD's own Go client (the one client-go uses) and, for calls that client no
// longer makes, plain gRPC on its connection to the leader.

func init() {
	register("pd", "cluster-info-without-header", pdClusterInfo)
	register("pd", "tso", pdTSO)
	register("pd", "regions", pdRegions)
	register("pd", "stores", pdStores)
	register("pd", "gc-states", pdGCStates)
	register("pd", "gc-safe-point-compat", pdGCSafePointCompat)
	register("pd", "service-gc-safe-point-compat", pdServiceSafePointCompat)
	register("pd", "meta-storage", pdMetaStorage)
}

func withPD(ctx context.Context, e *env, fn func(c pd.Client) error) error {
	c, err := pd.NewClientWithContext(ctx, caller.Component("interop"), e.pdAddrs, pd.SecurityOption{})
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer c.Close()
	return fn(c)
}

// leaderConn is the PD client's gRPC connection to the leader.
func leaderConn(c pd.Client) *grpc.ClientConn {
	return c.GetServiceDiscovery().GetServingEndpointClientConn()
}

func header(ctx context.Context, c pd.Client) *pdpb.RequestHeader {
	return &pdpb.RequestHeader{ClusterId: c.GetClusterID(ctx)}
}

// pdClusterInfo: PD's client sends GetClusterInfo with no header while it starts; PD answers it.
func pdClusterInfo(ctx context.Context, e *env) error {
	return withPD(ctx, e, func(c pd.Client) error {
		resp, err := pdpb.NewPDClient(leaderConn(c)).GetClusterInfo(ctx, &pdpb.GetClusterInfoRequest{})
		if err != nil {
			return err
		}
		return expect(len(resp.GetServiceModes()) == 1 && resp.GetServiceModes()[0] == pdpb.ServiceMode_PD_SVC_MODE,
			"service modes %v", resp.GetServiceModes())
	})
}

func pdTSO(ctx context.Context, e *env) error {
	return withPD(ctx, e, func(c pd.Client) error {
		var last uint64
		for i := 0; i < 200; i++ {
			p, l, err := c.GetTS(ctx)
			if err != nil {
				return err
			}
			ts := uint64(p)<<18 | uint64(l)
			if ts <= last {
				return fmt.Errorf("TSO went back: %d after %d", ts, last)
			}
			last = ts
		}
		physical := int64(last >> 18)
		return expect(math.Abs(float64(time.Now().UnixMilli()-physical)) < 60_000, "TSO physical %d is far from the wall clock", physical)
	})
}

func pdRegions(ctx context.Context, e *env) error {
	return withPD(ctx, e, func(c pd.Client) error {
		regions, err := c.BatchScanRegions(ctx, []router.KeyRange{{StartKey: []byte{}, EndKey: []byte{}}}, 1000)
		if err != nil {
			return err
		}
		if err := expect(len(regions) >= 1 && len(regions[0].Meta.GetStartKey()) == 0, "batch scan found %d regions", len(regions)); err != nil {
			return err
		}
		for i := 1; i < len(regions); i++ {
			if !bytes.Equal(regions[i-1].Meta.GetEndKey(), regions[i].Meta.GetStartKey()) {
				return fmt.Errorf("regions %d and %d are not adjacent", i-1, i)
			}
		}
		last := regions[len(regions)-1]
		byID, err := c.GetRegionByID(ctx, last.Meta.GetId())
		if err != nil {
			return err
		}
		if err := expect(byID != nil && byID.Leader.GetStoreId() != 0, "GetRegionByID(%d): %+v", last.Meta.GetId(), byID); err != nil {
			return err
		}
		r, err := c.GetRegion(ctx, last.Meta.GetStartKey())
		if err != nil {
			return err
		}
		if err := expect(r.Meta.GetId() == last.Meta.GetId(), "GetRegion at the last start key: region %d", r.Meta.GetId()); err != nil {
			return err
		}
		scanned, err := c.ScanRegions(ctx, []byte{}, []byte{}, 1000)
		if err != nil {
			return err
		}
		return expect(len(scanned) == len(regions), "ScanRegions found %d, BatchScanRegions %d", len(scanned), len(regions))
	})
}

func pdStores(ctx context.Context, e *env) error {
	return withPD(ctx, e, func(c pd.Client) error {
		stores, err := c.GetAllStores(ctx, opt.WithExcludeTombstone())
		if err != nil {
			return err
		}
		if err := expect(len(stores) >= 1, "no stores"); err != nil {
			return err
		}
		s, err := c.GetStore(ctx, stores[0].GetId())
		if err != nil {
			return err
		}
		if err := expect(s.GetAddress() == stores[0].GetAddress(), "GetStore address %q", s.GetAddress()); err != nil {
			return err
		}
		missing, err := c.GetStore(ctx, 987654)
		return expect(err == nil && missing == nil || err != nil, "unknown store: %v %v", missing, err)
	})
}

// pdGCStates drives the GC states API the way client-go's KVStore.GC does, ending with the
// legacy UpdateGCSafePoint call it still makes.
func pdGCStates(ctx context.Context, e *env) error {
	return withPD(ctx, e, func(c pd.Client) error {
		p, l, err := c.GetTS(ctx)
		if err != nil {
			return err
		}
		target := uint64(p)<<18 | uint64(l)
		ctl := c.GetGCInternalController(constants.NullKeyspaceID)
		adv, err := ctl.AdvanceTxnSafePoint(ctx, target)
		if err != nil {
			return err
		}
		if err := expect(adv.NewTxnSafePoint == target, "txn safe point %d, want %d (%s)", adv.NewTxnSafePoint, target, adv.BlockerDescription); err != nil {
			return err
		}
		newGC, err := c.UpdateGCSafePoint(ctx, target)
		if err != nil {
			return fmt.Errorf("UpdateGCSafePoint: %w", err)
		}
		if err := expect(newGC == target, "UpdateGCSafePoint answered %d, want %d", newGC, target); err != nil {
			return err
		}
		state, err := c.GetGCStatesClient(constants.NullKeyspaceID).GetGCState(ctx)
		if err != nil {
			return err
		}
		return expect(state.TxnSafePoint == target && state.GCSafePoint == target, "GC state %+v", state)
	})
}

// pdGCSafePointCompat: the pre-GC-states calls answer from the GC states, as PD does.
func pdGCSafePointCompat(ctx context.Context, e *env) error {
	return withPD(ctx, e, func(c pd.Client) error {
		cli := pdpb.NewPDClient(leaderConn(c))
		before, err := cli.GetGCSafePoint(ctx, &pdpb.GetGCSafePointRequest{Header: header(ctx, c)})
		if err != nil {
			return fmt.Errorf("GetGCSafePoint: %w", err)
		}
		state, err := c.GetGCStatesClient(constants.NullKeyspaceID).GetGCState(ctx)
		if err != nil {
			return err
		}
		if err := expect(before.GetSafePoint() == state.GCSafePoint, "GetGCSafePoint %d, GC state says %d", before.GetSafePoint(), state.GCSafePoint); err != nil {
			return err
		}
		// A smaller value is not an error: PD answers the current one.
		back, err := c.UpdateGCSafePoint(ctx, 0)
		if err != nil {
			return fmt.Errorf("UpdateGCSafePoint(0): %w", err)
		}
		if err := expect(back == state.GCSafePoint, "UpdateGCSafePoint(0) answered %d, want %d", back, state.GCSafePoint); err != nil {
			return err
		}
		// Beyond the txn safe point is refused.
		_, err = c.UpdateGCSafePoint(ctx, state.TxnSafePoint+1000)
		return expect(err != nil, "UpdateGCSafePoint past the txn safe point was accepted")
	})
}

// pdServiceSafePointCompat: service safe points become GC barriers; gc_worker's moves the txn safe point.
func pdServiceSafePointCompat(ctx context.Context, e *env) error {
	return withPD(ctx, e, func(c pd.Client) error {
		p, l, err := c.GetTS(ctx)
		if err != nil {
			return err
		}
		now := uint64(p)<<18 | uint64(l)
		gcStates := c.GetGCStatesClient(constants.NullKeyspaceID)
		min, err := c.UpdateServiceGCSafePoint(ctx, "interop-br", 600, now)
		if err != nil {
			return fmt.Errorf("UpdateServiceGCSafePoint: %w", err)
		}
		// Whatever happens below, TTL 0 removes the service safe point again.
		defer func() { _, _ = c.UpdateServiceGCSafePoint(context.Background(), "interop-br", 0, now) }()
		state, err := gcStates.GetGCState(ctx, gc.ExcludeGCBarriers(false))
		if err != nil {
			return err
		}
		if err := expect(min == state.TxnSafePoint, "min service safe point %d, txn safe point %d", min, state.TxnSafePoint); err != nil {
			return err
		}
		barriers, err := state.GetGCBarriers()
		if err != nil {
			return err
		}
		found := false
		for _, b := range barriers {
			found = found || (b.BarrierID == "interop-br" && b.BarrierTS == now)
		}
		if err := expect(found, "no GC barrier for the service safe point: %+v", barriers); err != nil {
			return err
		}
		// gc_worker advances the txn safe point, held back by the barrier.
		min, err = c.UpdateServiceGCSafePoint(ctx, "gc_worker", math.MaxInt64, now+(1000<<18))
		if err != nil {
			return fmt.Errorf("UpdateServiceGCSafePoint(gc_worker): %w", err)
		}
		if err := expect(min == now, "gc_worker's answer %d, want the barrier's %d", min, now); err != nil {
			return err
		}
		// TTL 0 removes the service safe point.
		if _, err := c.UpdateServiceGCSafePoint(ctx, "interop-br", 0, now); err != nil {
			return err
		}
		state, err = gcStates.GetGCState(ctx, gc.ExcludeGCBarriers(false))
		if err != nil {
			return err
		}
		barriers, err = state.GetGCBarriers()
		if err != nil {
			return err
		}
		for _, b := range barriers {
			if b.BarrierID == "interop-br" {
				return fmt.Errorf("the service safe point survived TTL 0")
			}
		}
		return nil
	})
}

// pdMetaStorage: PD's meta storage (etcd behind PD) through the PD client: put, prefix get, watch
// from a revision with previous values.
func pdMetaStorage(ctx context.Context, e *env) error {
	return withPD(ctx, e, func(c pd.Client) error {
		prefix := []byte(fmt.Sprintf("/interop/%d/", time.Now().UnixNano()))
		first, err := c.Put(ctx, append(prefix, 'a'), []byte("1"))
		if err != nil {
			return fmt.Errorf("put: %w", err)
		}
		startRev := first.GetHeader().GetRevision()
		if _, err := c.Put(ctx, append(prefix, 'b'), []byte("2")); err != nil {
			return err
		}
		prev, err := c.Put(ctx, append(prefix, 'a'), []byte("3"), opt.WithPrevKV())
		if err != nil {
			return err
		}
		if err := expect(string(prev.GetPrevKv().GetValue()) == "1", "prev kv %v", prev.GetPrevKv()); err != nil {
			return err
		}
		got, err := c.Get(ctx, prefix, opt.WithPrefix())
		if err != nil {
			return err
		}
		if err := expect(got.GetCount() == 2 && len(got.GetKvs()) == 2 && string(got.GetKvs()[0].GetValue()) == "3",
			"prefix get: count %d kvs %v", got.GetCount(), got.GetKvs()); err != nil {
			return err
		}
		limited, err := c.Get(ctx, prefix, opt.WithPrefix(), opt.WithLimit(1))
		if err != nil {
			return err
		}
		if err := expect(len(limited.GetKvs()) == 1 && limited.GetMore() && limited.GetCount() == 2, "limited get %v", limited); err != nil {
			return err
		}
		old, err := c.Get(ctx, append(prefix, 'a'), opt.WithRev(startRev))
		if err != nil {
			return err
		}
		if err := expect(len(old.GetKvs()) == 1 && string(old.GetKvs()[0].GetValue()) == "1", "get at revision %d: %v", startRev, old.GetKvs()); err != nil {
			return err
		}
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		ch, err := c.Watch(wctx, prefix, opt.WithPrefix(), opt.WithRev(startRev), opt.WithPrevKV())
		if err != nil {
			return fmt.Errorf("watch: %w", err)
		}
		var events []*meta_storagepb.Event
		for len(events) < 3 {
			select {
			case resp, ok := <-ch:
				if !ok {
					return fmt.Errorf("watch ended after %d events", len(events))
				}
				events = append(events, resp.Events...)
			case <-ctx.Done():
				return fmt.Errorf("watch replayed %d of 3 events", len(events))
			}
		}
		last := events[2]
		return expect(last.GetKv().GetModRevision() > startRev && string(last.GetPrevKv().GetValue()) == "1" && last.GetKv().GetVersion() == 2,
			"third event %v", last)
	})
}
