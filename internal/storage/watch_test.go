package storage

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// TestWatchInitialEventsInPages: a watch's initial events are read from
// etcd a page at a time (growing pages) at one revision, and still deliver every object
// once, in key order, with and without a predicate, before the changes
// that follow; a revision compacted between pages ends the watch with
// 410 Expired.
func TestWatchInitialEventsInPages(t *testing.T) {
	client := testEtcd(t)
	st := configMapStore(t, client, "/registry/configmaps/")
	ctx := t.Context()
	const n = 3*initialEventsPage + 100 // pages of 500, 1,000 (they grow) and 100
	for i := range n {
		labels := map[string]string{}
		if i%3 == 0 {
			labels["l"] = "1"
		}
		if err := put("ns", fmt.Sprintf("o%05d", i), labels, "x")(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name      string
		predicate Predicate
		every     int
	}{
		{"all", nil, 1},
		{"predicate", labelIs("1"), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := st.Watch(ctx, "ns/", WatchOptions{InitialEvents: true, InitialEventsEnd: true, Bookmarks: true, Predicate: tt.predicate})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Stop()
			// A change after the watch's revision comes after the initial events.
			after := map[string]string{} // matches the predicate, but not the next subtest's
			if tt.predicate != nil {
				after["l"] = "1"
			}
			if err := put("ns", "zz-after-"+tt.name, after, "x")(ctx, st); err != nil {
				t.Fatal(err)
			}
			want := (n + tt.every - 1) / tt.every
			for i := range want {
				ev := next(t, w)
				name := fmt.Sprintf("o%05d", i*tt.every)
				if got := summary(t, ev); ev.Type != watch.Added || !strings.Contains(got, "ns/"+name+" ") {
					t.Fatalf("initial event %d = %s, want ADDED ns/%s", i, got, name)
				}
			}
			if ev := next(t, w); ev.Type != watch.Bookmark {
				t.Fatalf("after the initial events: %s, want the BOOKMARK ending them", summary(t, ev))
			}
			if got := summary(t, next(t, w)); !strings.Contains(got, "ADDED ns/zz-after-"+tt.name) {
				t.Fatalf("after the bookmark: %s, want ADDED ns/zz-after-%s", got, tt.name)
			}
		})
	}

	t.Run("compacted between pages", func(t *testing.T) {
		w, err := st.Watch(ctx, "ns/", WatchOptions{InitialEvents: true})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		if err := put("ns", "o00000", nil, "changed")(ctx, st); err != nil {
			t.Fatal(err)
		}
		rev, err := st.CurrentRevision(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.Compact(ctx, rev); err != nil {
			t.Fatal(err)
		}
		for i := 0; ; i++ {
			ev := next(t, w)
			if ev.Type == watch.Added {
				continue
			}
			status, ok := ev.Object.(*metav1.Status)
			if ev.Type != watch.Error || !ok || status.Code != http.StatusGone || status.Reason != metav1.StatusReasonExpired {
				t.Fatalf("event %d = %s %+v, want ERROR 410 Expired", i, ev.Type, ev.Object)
			}
			if i != initialEventsPage {
				t.Errorf("the error came after %d objects, want the first page's %d", i, initialEventsPage)
			}
			return
		}
	})
}

// next returns w's next event, failing the test if there is none soon.
func next(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("the watch ended")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event within 10s")
	}
	return watch.Event{}
}
