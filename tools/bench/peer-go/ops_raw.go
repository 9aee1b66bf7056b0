package main

// RawKV operations of the peer benchmark: the same names, keys and sizes as the TypeScript
// worker's raw operations (tools/bench/src/peer-ops.ts).

import "github.com/tikv/client-go/v2/rawkv"

const batchKeys = 16

func init() {
	register("get", func(e *env) (op, error) {
		c, err := loadedRaw(e)
		if err != nil {
			return nil, err
		}
		return func(i int) error {
			_, err := c.Get(e.ctx, e.keys[i%len(e.keys)])
			return err
		}, nil
	})
	register("put", func(e *env) (op, error) {
		c, err := e.rawClient()
		if err != nil {
			return nil, err
		}
		return func(i int) error { return c.Put(e.ctx, e.keys[i%len(e.keys)], e.value) }, nil
	})
	register("batchGet", func(e *env) (op, error) {
		c, err := loadedRaw(e)
		if err != nil {
			return nil, err
		}
		batches := len(e.keys) / batchKeys
		return func(i int) error {
			start := (i % batches) * batchKeys
			_, err := c.BatchGet(e.ctx, e.keys[start:start+batchKeys])
			return err
		}, nil
	})
}

// loadedRaw returns the raw client after writing every key of the set, so reads find values.
func loadedRaw(e *env) (*rawkv.Client, error) {
	c, err := e.rawClient()
	if err != nil {
		return nil, err
	}
	values := make([][]byte, len(e.keys))
	for i := range values {
		values[i] = e.value
	}
	return c, c.BatchPut(e.ctx, e.keys, values)
}
