package storage

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

// countingClient counts the reads of etcd.
type countingClient struct {
	*clientv3.Client
	gets atomic.Int64
}

func (c *countingClient) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	c.gets.Add(1)
	return c.Client.Get(ctx, key, opts...)
}

// cachedAt waits until st's watch cache holds key at rev and returns its
// entry.
func cachedAt(t *testing.T, st *Store, key string, rev int64) *entry {
	t.Helper()
	var e *entry
	waitFor(t, "the cache to see revision "+strconv.FormatInt(rev, 10), func() bool {
		e = st.cache.Load().latest(st.prefix + key)
		return e != nil && e.rev == rev
	})
	return e
}

func revOf(t *testing.T, obj runtime.Object) int64 {
	t.Helper()
	a, err := meta.Accessor(obj)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := strconv.ParseInt(a.GetResourceVersion(), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// TestGuaranteedUpdateStartsFromTheCache: with the watch cache holding
// the object's newest state, an update reads nothing from etcd; without
// the cache (or for a dry run), it reads the object once.
func TestGuaranteedUpdateStartsFromTheCache(t *testing.T) {
	client := &countingClient{Client: testEtcd(t)}
	st := configMapStore(t, client, "/registry/configmaps/")
	ctx := t.Context()
	set := func(v string, dryRun bool) runtime.Object {
		t.Helper()
		out, _, err := st.GuaranteedUpdate(ctx, "ns/a", true, dryRun, func(cur runtime.Object) (runtime.Object, error) {
			return cm("ns", "a", nil, v), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	rev := revOf(t, set("1", false))
	if n := client.gets.Load(); n != 1 {
		t.Errorf("without a cache: %d reads, want 1", n)
	}
	runCache(t, st, CacheConfig{})
	rev = revOf(t, set("2", false)) // not cached: changed before the cache started
	cachedAt(t, st, "ns/a", rev)
	before := client.gets.Load()
	out := set("3", false)
	if n := client.gets.Load() - before; n != 0 {
		t.Errorf("cache holding the object: %d reads of etcd, want 0", n)
	}
	if got := out.(*corev1.ConfigMap).Data["d"]; got != "3" {
		t.Errorf("stored %q, want 3", got)
	}
	cachedAt(t, st, "ns/a", revOf(t, out))
	before = client.gets.Load()
	set("4", true)
	if n := client.gets.Load() - before; n != 1 {
		t.Errorf("dry run: %d reads of etcd, want 1", n)
	}
}

// TestGuaranteedUpdateOnAStaleCache: the cache's state of an object may
// lag etcd's; an update that starts from it loses nothing. The cache is
// made stale by pointing it back at an older state of the object.
func TestGuaranteedUpdateOnAStaleCache(t *testing.T) {
	errRefused := errors.New("refused")
	for _, tc := range []struct {
		name string
		// update computes the next state; rev is etcd's revision of the
		// object's newest state.
		update func(rev int64) UpdateFunc
		// want is the stored value of "d" afterwards, wantErr the error.
		want    string
		wantErr error
	}{
		{
			// A write conditional on the stale revision fails; the retry
			// starts from etcd's state and keeps its other keys.
			name: "update",
			update: func(int64) UpdateFunc {
				return func(cur runtime.Object) (runtime.Object, error) {
					c := cur.(*corev1.ConfigMap)
					c.Data["w"] = "x"
					return c, nil
				}
			},
			want: "2",
		},
		{
			// A precondition on the newest resourceVersion, which the
			// stale state fails: decided again on etcd's state.
			name: "precondition",
			update: func(rev int64) UpdateFunc {
				return func(cur runtime.Object) (runtime.Object, error) {
					if got := revOf(t, cur); got != rev {
						return nil, errRefused
					}
					c := cur.(*corev1.ConfigMap)
					c.Data["d"] = "3"
					return c, nil
				}
			},
			want: "3",
		},
		{
			// Unchanged from the stale state, not from etcd's: written.
			name: "no-op on the stale state",
			update: func(int64) UpdateFunc {
				return func(runtime.Object) (runtime.Object, error) { return cm("ns", "a", nil, "1"), nil }
			},
			want: "1",
		},
		{
			// Refused on etcd's state too: the error.
			name: "refused",
			update: func(int64) UpdateFunc {
				return func(runtime.Object) (runtime.Object, error) { return nil, errRefused }
			},
			want:    "2",
			wantErr: errRefused,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := testEtcd(t)
			st := configMapStore(t, client, "/registry/configmaps/")
			runCache(t, st, CacheConfig{})
			ctx := t.Context()
			if err := put("ns", "a", nil, "1")(ctx, st); err != nil {
				t.Fatal(err)
			}
			resp, err := client.Get(ctx, "/registry/configmaps/ns/a")
			if err != nil {
				t.Fatal(err)
			}
			stale := cachedAt(t, st, "ns/a", resp.Kvs[0].ModRevision)
			if err := put("ns", "a", nil, "2")(ctx, st); err != nil {
				t.Fatal(err)
			}
			if resp, err = client.Get(ctx, "/registry/configmaps/ns/a"); err != nil {
				t.Fatal(err)
			}
			rev := resp.Kvs[0].ModRevision
			cachedAt(t, st, "ns/a", rev)
			r := st.cache.Load()
			r.mu.Lock()
			r.byKey[st.prefix+"ns/a"] = stale
			r.mu.Unlock()

			used := st.cachedUpdates.Load()
			_, _, err = st.GuaranteedUpdate(ctx, "ns/a", false, false, tc.update(rev))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if st.cachedUpdates.Load() == used {
				t.Fatal("the update did not start from the cache")
			}
			got, err := st.Get(ctx, "ns/a")
			if err != nil {
				t.Fatal(err)
			}
			if v := got.(*corev1.ConfigMap).Data["d"]; v != tc.want {
				t.Errorf("stored d=%q, want %q", v, tc.want)
			}
			if tc.name == "update" && got.(*corev1.ConfigMap).Data["w"] != "x" {
				t.Errorf("stored %v: the update was lost", got.(*corev1.ConfigMap).Data)
			}
		})
	}
}
