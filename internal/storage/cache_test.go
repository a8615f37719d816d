package storage

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/batchd/batchd/internal/etcd"
)

// testEtcd starts an embedded etcd member for the test.
func testEtcd(t *testing.T) *clientv3.Client {
	t.Helper()
	cluster, err := etcd.Open(t.Context(), etcd.Config{DataDir: t.TempDir(), NoFsync: true, FastElection: true, ProgressNotifyInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Close() })
	return cluster.Client()
}

var testCodecs = func() serializer.CodecFactory {
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		panic(err)
	}
	return serializer.NewCodecFactory(scheme)
}()

// configMapStore returns a store of ConfigMaps under prefix on client.
func configMapStore(t *testing.T, client Client, prefix string) *Store {
	t.Helper()
	info, ok := runtime.SerializerInfoForMediaType(testCodecs.SupportedMediaTypes(), runtime.ContentTypeProtobuf)
	if !ok {
		t.Fatal("no protobuf serializer")
	}
	codec := testCodecs.CodecForVersions(info.Serializer, info.Serializer, corev1.SchemeGroupVersion, corev1.SchemeGroupVersion)
	st, err := New(Config{Client: client, Codec: codec, Prefix: prefix, NewFunc: func() runtime.Object { return &corev1.ConfigMap{} }})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// runCache runs st's watch cache for the test and waits until it serves.
func runCache(t *testing.T, st *Store, cfg CacheConfig) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); st.RunCache(ctx, cfg) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the watch cache", func() bool { return st.cache.Load() != nil })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func cm(ns, name string, labels map[string]string, data string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}, Data: map[string]string{"d": data}}
}

// change is one write through a store.
type change func(ctx context.Context, st *Store) error

func put(ns, name string, labels map[string]string, data string) change {
	return func(ctx context.Context, st *Store) error {
		_, _, err := st.GuaranteedUpdate(ctx, Key(ns, name), true, false, func(runtime.Object) (runtime.Object, error) {
			return cm(ns, name, labels, data), nil
		})
		return err
	}
}

func del(ns, name string) change {
	return func(ctx context.Context, st *Store) error {
		_, err := st.Delete(ctx, Key(ns, name), false, nil)
		return err
	}
}

// summary is what a test compares of a watch event.
func summary(t *testing.T, ev watch.Event) string {
	t.Helper()
	obj := ev.Object
	if co, ok := obj.(runtime.CacheableObject); ok {
		obj = co.GetObject()
	}
	acc, err := meta.Accessor(obj)
	if err != nil {
		return fmt.Sprintf("%s %T", ev.Type, obj)
	}
	if ev.Type == watch.Bookmark {
		return "BOOKMARK"
	}
	data := ""
	if c, ok := obj.(*corev1.ConfigMap); ok {
		data = c.Data["d"]
	}
	return fmt.Sprintf("%s %s/%s %s@%s", ev.Type, acc.GetNamespace(), acc.GetName(), data, acc.GetResourceVersion())
}

// collect reads n events from w, skipping bookmarks.
func collect(t *testing.T, w watch.Interface, n int) []string {
	t.Helper()
	var out []string
	timeout := time.After(10 * time.Second)
	for len(out) < n {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("watch closed after %d of %d events: %v", len(out), n, out)
			}
			if ev.Type == watch.Bookmark {
				continue
			}
			out = append(out, summary(t, ev))
		case <-timeout:
			t.Fatalf("got %d of %d events: %v", len(out), n, out)
		}
	}
	return out
}

func labelIs(v string) Predicate {
	return func(obj runtime.Object) bool {
		acc, err := meta.Accessor(obj)
		return err == nil && acc.GetLabels()["l"] == v
	}
}

// TestCacheWatchMatchesEtcdWatch: a watch served by the cache delivers
// exactly what the same watch read from etcd delivers, with and without
// a namespace and a predicate (objects entering and leaving it).
func TestCacheWatchMatchesEtcdWatch(t *testing.T) {
	client := testEtcd(t)
	cached := configMapStore(t, client, "/registry/configmaps/")
	direct := configMapStore(t, client, "/registry/configmaps/")
	runCache(t, cached, CacheConfig{})
	ctx := t.Context()

	start, err := cached.CurrentRevision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	changes := []change{
		put("a", "x", map[string]string{"l": "1"}, "1"),
		put("b", "y", nil, "1"),
		put("a", "x", map[string]string{"l": "1"}, "2"), // modified, still matching
		put("a", "x", nil, "3"),                         // leaves the selector
		put("a", "z", map[string]string{"l": "1"}, "1"),
		put("a", "x", map[string]string{"l": "1"}, "4"), // back in
		del("b", "y"),
		del("a", "x"),
		put("b", "y", map[string]string{"l": "1"}, "5"), // created again
	}
	for _, c := range changes {
		if err := c(ctx, cached); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name      string
		prefix    string
		predicate Predicate
		want      int
	}{
		{"all", "", nil, 9},
		{"namespace", "a/", nil, 6},
		{"predicate", "", labelIs("1"), 7},
		{"namespace and predicate", "a/", labelIs("1"), 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := WatchOptions{ResourceVersion: start, Predicate: tt.predicate}
			wc, err := cached.Watch(ctx, tt.prefix, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer wc.Stop()
			wd, err := direct.Watch(ctx, tt.prefix, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer wd.Stop()
			got, want := collect(t, wc, tt.want), collect(t, wd, tt.want)
			if !slices.Equal(got, want) {
				t.Errorf("cached watch:\n%v\netcd watch:\n%v", got, want)
			}
			// Served by the cache: its events carry the shared objects.
			if _, ok := (<-afterOne(t, cached, tt.prefix, start)).Object.(*cachingObject); !ok {
				t.Error("the cached watch's events do not come from the cache")
			}
		})
	}
}

// watchFromNow starts a watch of st from its current revision, which it
// returns; the watch stops when the test ends.
func watchFromNow(t *testing.T, st *Store, prefix string, opts WatchOptions) (watch.Interface, int64) {
	t.Helper()
	start, err := st.CurrentRevision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	opts.ResourceVersion = start
	w, err := st.Watch(t.Context(), prefix, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return w, start
}

// afterOne returns a channel with the first event of a new watch of st.
func afterOne(t *testing.T, st *Store, prefix string, rev int64) <-chan watch.Event {
	t.Helper()
	w, err := st.Watch(t.Context(), prefix, WatchOptions{ResourceVersion: rev})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return w.ResultChan()
}

// TestCacheSlowWatcherContinuesOnEtcd: a watcher that falls further
// behind than the cache holds loses nothing and repeats nothing.
func TestCacheSlowWatcherContinuesOnEtcd(t *testing.T) {
	client := testEtcd(t)
	st := configMapStore(t, client, "/registry/configmaps/")
	runCache(t, st, CacheConfig{Capacity: 8})
	ctx := t.Context()
	w, start := watchFromNow(t, st, "", WatchOptions{})
	// More than the watch's buffer (100) and the ring (8) together, unread.
	const n = 150
	for i := range n {
		if err := put("ns", "o"+strconv.Itoa(i%7), nil, strconv.Itoa(i))(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what string, got []string) {
		t.Helper()
		for i, s := range got {
			if want := fmt.Sprintf("ns/o%d %d@%d", i%7, i, start+int64(i)+1); !bytes.Contains([]byte(s), []byte(want)) {
				t.Fatalf("%s: event %d = %q, want %q", what, i, s, want)
			}
		}
	}
	check("slow watch", collect(t, w, n))
	// A watch from a revision the cache dropped reads etcd's history.
	late, err := st.Watch(ctx, "", WatchOptions{ResourceVersion: start})
	if err != nil {
		t.Fatal(err)
	}
	defer late.Stop()
	check("watch from before the cache", collect(t, late, n))
}

// TestEtcdResumeSkipsDeliveredChangesOfARevision: one revision may change
// several keys (a lease expiry deletes all its objects); a watch that
// continues on etcd mid-revision skips the changes it delivered.
func TestEtcdResumeSkipsDeliveredChangesOfARevision(t *testing.T) {
	client := testEtcd(t)
	st := configMapStore(t, client, "/registry/configmaps/")
	ctx := t.Context()
	var ops []clientv3.Op
	for _, name := range []string{"a", "b", "c"} {
		data, err := st.encode(cm("ns", name, nil, name))
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, clientv3.OpPut("/registry/configmaps/ns/"+name, string(data)))
	}
	resp, err := client.Txn(ctx).Then(ops...).Commit()
	if err != nil {
		t.Fatal(err)
	}
	rev := resp.Header.Revision
	if err := put("ns", "d", nil, "d")(ctx, st); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	w := &watcher{store: st, prefix: st.prefix, result: make(chan watch.Event, 10), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer close(w.result)
		w.followEtcd(wctx, resume{rev: rev, skip: 2})
	}()
	defer w.Stop()
	got := collect(t, w, 2)
	want := []string{fmt.Sprintf("ADDED ns/c c@%d", rev), fmt.Sprintf("ADDED ns/d d@%d", rev+1)}
	if !slices.Equal(got, want) {
		t.Errorf("events = %v, want %v", got, want)
	}
}

// breakableClient closes the watch cache's etcd watch on demand.
type breakableClient struct {
	*clientv3.Client
	mu     sync.Mutex
	cancel []context.CancelFunc
	starts atomic.Int32
}

func (c *breakableClient) Watch(ctx context.Context, key string, opts ...clientv3.OpOption) clientv3.WatchChan {
	op := clientv3.OpGet(key, opts...)
	if !op.IsProgressNotify() || key != "/registry/configmaps/" {
		return c.Client.Watch(ctx, key, opts...)
	}
	// The cache's watch (the only one of the whole prefix asking for
	// progress notifications in these tests).
	ctx, cancel := context.WithCancel(ctx)
	c.mu.Lock()
	c.cancel = append(c.cancel, cancel)
	c.mu.Unlock()
	c.starts.Add(1)
	return c.Client.Watch(ctx, key, opts...)
}

func (c *breakableClient) breakWatches() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cancel := range c.cancel {
		cancel()
	}
	c.cancel = nil
}

// TestCacheRestartLosesNoEvent: when the cache's etcd watch ends, the
// watches it served continue on etcd without a gap, and the cache starts
// anew for later watches.
func TestCacheRestartLosesNoEvent(t *testing.T) {
	client := &breakableClient{Client: testEtcd(t)}
	st := configMapStore(t, client, "/registry/configmaps/")
	runCache(t, st, CacheConfig{})
	ctx := t.Context()
	w, start := watchFromNow(t, st, "", WatchOptions{})
	first := st.cache.Load()
	for i := range 20 {
		if i == 10 {
			client.breakWatches()
		}
		if err := put("ns", "o"+strconv.Itoa(i), nil, strconv.Itoa(i))(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	got := collect(t, w, 20)
	for i, s := range got {
		if want := fmt.Sprintf("ADDED ns/o%d %d@%d", i, i, start+int64(i)+1); s != want {
			t.Fatalf("event %d = %q, want %q", i, s, want)
		}
	}
	waitFor(t, "a new ring", func() bool { r := st.cache.Load(); return r != nil && r != first })
	if n := client.starts.Load(); n < 2 {
		t.Errorf("the cache watched etcd %d times, want a restart", n)
	}
}

// laggingClient holds back what etcd sends the watch cache until
// release is called, as a busy cache lags behind writes.
type laggingClient struct {
	*clientv3.Client
	released chan struct{}
}

func (c *laggingClient) Watch(ctx context.Context, key string, opts ...clientv3.OpOption) clientv3.WatchChan {
	in := c.Client.Watch(ctx, key, opts...)
	if op := clientv3.OpGet(key, opts...); !op.IsProgressNotify() || key != "/registry/configmaps/" {
		return in
	}
	out := make(chan clientv3.WatchResponse)
	go func() {
		defer close(out)
		for resp := range in {
			select {
			case <-c.released:
			case <-ctx.Done():
				return
			}
			select {
			case out <- resp:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// TestCacheWatchStartingAheadOfTheCache: a watch from a revision the
// cache has yet to see (a client watching from what it just wrote)
// delivers only the changes after that revision, not the write itself.
func TestCacheWatchStartingAheadOfTheCache(t *testing.T) {
	client := &laggingClient{Client: testEtcd(t), released: make(chan struct{})}
	st := configMapStore(t, client, "/registry/configmaps/")
	runCache(t, st, CacheConfig{})
	ctx := t.Context()
	if err := put("ns", "a", nil, "1")(ctx, st); err != nil {
		t.Fatal(err)
	}
	w, rev := watchFromNow(t, st, "", WatchOptions{})
	close(client.released)
	if err := put("ns", "a", nil, "2")(ctx, st); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("MODIFIED ns/a 2@%d", rev+1)
	if got := collect(t, w, 1); got[0] != want {
		t.Errorf("first event %q, want %q", got[0], want)
	}
}

// TestCacheBookmarksReachQuietWatchers: a watch of a namespace where
// nothing changes still gets bookmarks while other namespaces change
// (etcd would not notify the cache's busy watch of progress).
func TestCacheBookmarksReachQuietWatchers(t *testing.T) {
	client := testEtcd(t)
	st := configMapStore(t, client, "/registry/configmaps/")
	runCache(t, st, CacheConfig{BookmarkInterval: 50 * time.Millisecond})
	ctx := t.Context()
	w, start := watchFromNow(t, st, "quiet/", WatchOptions{Bookmarks: true})
	stop := make(chan struct{})
	var busy sync.WaitGroup
	busy.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			_ = put("busy", "o", nil, strconv.Itoa(i))(ctx, st)
		}
	})
	defer func() { close(stop); busy.Wait() }()
	var last int64
	for range 3 {
		select {
		case ev := <-w.ResultChan():
			if ev.Type != watch.Bookmark {
				t.Fatalf("quiet namespace got %s", summary(t, ev))
			}
			acc, _ := meta.Accessor(ev.Object)
			rv, _ := strconv.ParseInt(acc.GetResourceVersion(), 10, 64)
			if rv <= last || rv < start {
				t.Fatalf("bookmark at %d after %d (watch from %d)", rv, last, start)
			}
			last = rv
		case <-time.After(5 * time.Second):
			t.Fatal("no bookmark within 5s")
		}
	}
}

// TestCachingObjectEncodesOnce: watchers of one change share one
// encoding per encoder, and encoding never touches the shared object.
func TestCachingObjectEncodesOnce(t *testing.T) {
	obj := cm("ns", "a", nil, "x")
	co := newCachingObject(obj)
	var calls atomic.Int32
	encode := func(o runtime.Object, w io.Writer) error {
		calls.Add(1)
		o.GetObjectKind().SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"))
		_, err := fmt.Fprintf(w, "%s/%s", o.GetObjectKind().GroupVersionKind().Kind, o.(*corev1.ConfigMap).Name)
		return err
	}
	var wg sync.WaitGroup
	outs := make([]bytes.Buffer, 20)
	for i := range outs {
		wg.Go(func() {
			id := runtime.Identifier("json")
			if i%2 == 1 {
				id = "protobuf"
			}
			if err := co.CacheEncode(id, encode, &outs[i]); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := calls.Load(); n != 2 {
		t.Errorf("encoded %d times for 2 encoders, want 2", n)
	}
	for i := range outs {
		if got := outs[i].String(); got != "ConfigMap/a" {
			t.Errorf("watcher %d got %q", i, got)
		}
	}
	if gvk := obj.GroupVersionKind(); !gvk.Empty() {
		t.Errorf("the shared object's kind became %v", gvk)
	}
	co.GetObjectKind().SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"))
	if gvk := obj.GroupVersionKind(); !gvk.Empty() {
		t.Errorf("setting the kind through the wrapper changed the shared object: %v", gvk)
	}
}
