package storage

import (
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/batchd/batchd/internal/etcd"
)

// TestUnchanged: a watch from a past revision may start from the current
// one (watchFromNow) only if nothing under its prefix was created,
// updated or deleted in between; writes elsewhere do not count.
func TestUnchanged(t *testing.T) {
	ctx := t.Context()
	cluster, err := etcd.Open(ctx, etcd.Config{DataDir: t.TempDir(), NoFsync: true, FastElection: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	cli := cluster.Client()
	codec := serializer.NewCodecFactory(scheme.Scheme).LegacyCodec(corev1.SchemeGroupVersion)
	st, err := New(Config{Client: cli, Codec: codec, Prefix: "/u/watched/", NewFunc: func() runtime.Object { return &corev1.ConfigMap{} }})
	if err != nil {
		t.Fatal(err)
	}
	put := func(key string) {
		if _, err := cli.Put(ctx, key, "x"); err != nil {
			t.Fatal(err)
		}
	}
	del := func(key string) {
		if _, err := cli.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	current := func() int64 {
		resp, err := cli.Get(ctx, "/u", clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		return resp.Header.Revision
	}
	w := &watcher{store: st, prefix: st.prefix}
	put("/u/watched/a")
	put("/u/watched/b")

	cases := []struct {
		name      string
		change    func() // after the watch's resourceVersion
		unchanged bool
	}{
		{"writes elsewhere only", func() { put("/u/other/x"); put("/u/other/y") }, true},
		{"nothing written since", func() {}, true},
		{"a key created under the prefix", func() { put("/u/watched/c") }, false},
		{"a key updated under the prefix", func() { put("/u/watched/a") }, false},
		{"a key deleted under the prefix", func() { del("/u/watched/c") }, false},
		{"one deleted and one created under the prefix", func() { del("/u/watched/b"); put("/u/watched/d") }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rv := current() // the resourceVersion a client listed at
			tc.change()
			if got := w.unchanged(ctx, rv+1, current()); got != tc.unchanged {
				t.Errorf("unchanged(%d, %d) = %v, want %v", rv+1, current(), got, tc.unchanged)
			}
		})
	}
	if w.unchanged(ctx, current()+5, current()) {
		t.Error("a watch from a future revision may start now: it would get the events before it")
	}

	// A watch from a past revision with only writes elsewhere since gets
	// the next change under its prefix, and nothing before it.
	rv := current()
	put("/u/other/z")
	ch := w.watchFromNow(ctx, rv+1, []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithPrevKV()})
	if ch == nil {
		t.Fatal("watchFromNow refused a watch whose prefix did not change")
	}
	put("/u/watched/e")
	select {
	case resp := <-ch:
		if len(resp.Events) != 1 || string(resp.Events[0].Kv.Key) != "/u/watched/e" {
			t.Fatalf("first events %v, want the put of /u/watched/e", resp.Events)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	rv = current()
	put("/u/watched/f")
	if ch := w.watchFromNow(ctx, rv+1, []clientv3.OpOption{clientv3.WithPrefix()}); ch != nil {
		t.Fatal("watchFromNow started a watch past a change under its prefix")
	}
}
