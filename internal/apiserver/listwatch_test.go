package apiserver_test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/clustertest"
)

func names(items []corev1.ConfigMap) []string {
	var out []string
	for _, i := range items {
		out = append(out, i.Namespace+"/"+i.Name)
	}
	return out
}

func TestListSelectors(t *testing.T) {
	c := clustertest.Start(t)
	ctx := t.Context()
	if _, err := c.Client().CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for ns, objs := range map[string][]*corev1.ConfigMap{
		"default": {configMap("a", map[string]string{"tier": "batch", "env": "prod"}), configMap("b", map[string]string{"tier": "web"})},
		"other":   {configMap("a", map[string]string{"tier": "batch"}), configMap("c", nil)},
	} {
		for _, o := range objs {
			if _, err := c.Client().CoreV1().ConfigMaps(ns).Create(ctx, o, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name      string
		namespace string
		opts      metav1.ListOptions
		want      []string
	}{
		{"all in one namespace", "default", metav1.ListOptions{}, []string{"default/a", "default/b"}},
		{"all namespaces", "", metav1.ListOptions{LabelSelector: "tier"}, []string{"default/a", "default/b", "other/a"}},
		{"label equality", "", metav1.ListOptions{LabelSelector: "tier=batch"}, []string{"default/a", "other/a"}},
		{"label inequality", "default", metav1.ListOptions{LabelSelector: "tier!=batch"}, []string{"default/b"}},
		{"label set", "", metav1.ListOptions{LabelSelector: "tier in (web,batch),env notin (dev)"}, []string{"default/a", "default/b", "other/a"}},
		{"label absence", "other", metav1.ListOptions{LabelSelector: "!tier"}, []string{"other/c"}},
		{"two labels", "", metav1.ListOptions{LabelSelector: "tier=batch,env=prod"}, []string{"default/a"}},
		{"field name", "", metav1.ListOptions{FieldSelector: "metadata.name=a"}, []string{"default/a", "other/a"}},
		{"field namespace", "", metav1.ListOptions{FieldSelector: "metadata.namespace!=default"}, []string{"other/a", "other/c"}},
		{"fields and labels", "", metav1.ListOptions{FieldSelector: "metadata.name==a", LabelSelector: "env=prod"}, []string{"default/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := c.Client().CoreV1().ConfigMaps(tt.namespace).List(ctx, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(list.Items); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("unsupported field is a 400", func(t *testing.T) {
		_, err := c.Client().CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{FieldSelector: "spec.bogus=1"})
		if st := statusOf(t, err); st.Code != http.StatusBadRequest || st.Message != "field label not supported: spec.bogus" {
			t.Errorf("got %d %q, want 400 field label not supported: spec.bogus", st.Code, st.Message)
		}
	})
	t.Run("pod fields", func(t *testing.T) {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "i"}}}}
		if _, err := c.Client().CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for sel, want := range map[string]int{"spec.nodeName=n1": 1, "spec.nodeName=n2": 0, "status.phase=Pending": 1, "status.phase!=Pending": 0} {
			list, err := c.Client().CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: sel})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Items) != want {
				t.Errorf("pods with %s: %d, want %d", sel, len(list.Items), want)
			}
		}
	})
}

func TestListPaging(t *testing.T) {
	c := clustertest.Start(t)
	ctx := t.Context()
	cms := c.Client().CoreV1().ConfigMaps("default")
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("cm-%d", i)
		want = append(want, "default/"+name)
		labels := map[string]string{"odd": strconv.FormatBool(i%2 == 1)}
		if _, err := cms.Create(ctx, configMap(name, labels), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	var got []string
	opts := metav1.ListOptions{Limit: 3}
	var firstRV string
	for pages := 0; ; pages++ {
		list, err := cms.List(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) > 3 {
			t.Fatalf("page of %d items, limit 3", len(list.Items))
		}
		if firstRV == "" {
			firstRV = list.ResourceVersion
			// A write between pages must not show up: pages share a revision.
			if _, err := cms.Create(ctx, configMap("cm-9", nil), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		} else if list.ResourceVersion != firstRV {
			t.Errorf("page resourceVersion %s, want %s as the first page", list.ResourceVersion, firstRV)
		}
		got = append(got, names(list.Items)...)
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}
	if !slices.Equal(got, want) {
		t.Errorf("paged list = %v, want %v", got, want)
	}

	// Paging with a selector fills pages from matching objects only.
	list, err := cms.List(ctx, metav1.ListOptions{Limit: 2, LabelSelector: "odd=true"})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(list.Items); !slices.Equal(got, []string{"default/cm-1", "default/cm-3"}) || list.Continue == "" {
		t.Errorf("first selective page = %v continue %q, want cm-1, cm-3 and a token", got, list.Continue)
	}

	t.Run("expired continue is 410", func(t *testing.T) {
		// Compaction keeps the revision it compacts to: move past the list's.
		if _, err := cms.Create(ctx, configMap("later", nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		c.Compact(t)
		_, err := cms.List(ctx, metav1.ListOptions{Limit: 2, LabelSelector: "odd=true", Continue: list.Continue})
		if st := statusOf(t, err); st.Code != http.StatusGone || st.Reason != metav1.StatusReasonExpired {
			t.Errorf("got %d %s, want 410 Expired", st.Code, st.Reason)
		}
	})
	t.Run("garbage continue is 400", func(t *testing.T) {
		_, err := cms.List(ctx, metav1.ListOptions{Continue: "not-a-token"})
		if !apierrors.IsBadRequest(err) {
			t.Errorf("got %v, want 400", err)
		}
	})
}

func TestListResourceVersionSemantics(t *testing.T) {
	c := clustertest.Start(t)
	ctx := t.Context()
	cms := c.Client().CoreV1().ConfigMaps("default")
	old, err := cms.Create(ctx, configMap("a", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Create(ctx, configMap("b", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	exact, err := cms.List(ctx, metav1.ListOptions{ResourceVersion: old.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(exact.Items); !slices.Equal(got, []string{"default/a"}) || exact.ResourceVersion != old.ResourceVersion {
		t.Errorf("exact list at %s = %v at %s, want only a", old.ResourceVersion, got, exact.ResourceVersion)
	}
	latest, err := cms.List(ctx, metav1.ListOptions{ResourceVersion: old.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
	if err != nil {
		t.Fatal(err)
	}
	if len(latest.Items) != 2 {
		t.Errorf("not-older-than list = %v, want a and b", names(latest.Items))
	}
	_, err = cms.List(ctx, metav1.ListOptions{ResourceVersion: "999999", ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
	st := statusOf(t, err)
	if st.Code != http.StatusGatewayTimeout || st.Details == nil || len(st.Details.Causes) == 0 || st.Details.Causes[0].Type != metav1.CauseTypeResourceVersionTooLarge {
		t.Errorf("future resourceVersion: %+v, want 504 with cause ResourceVersionTooLarge", st)
	}
	c.Compact(t)
	_, err = cms.List(ctx, metav1.ListOptions{ResourceVersion: old.ResourceVersion, ResourceVersionMatch: metav1.ResourceVersionMatchExact})
	if !apierrors.IsResourceExpired(err) {
		t.Errorf("exact list at a compacted revision: %v, want 410 Expired", err)
	}
}

// nextEvent returns the next event of w or fails after a timeout.
func nextEvent(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("watch closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event within 10s")
	}
	return watch.Event{}
}

func eventSummary(ev watch.Event) string {
	switch o := ev.Object.(type) {
	case *corev1.ConfigMap:
		return string(ev.Type) + " " + o.Name
	case *metav1.Status:
		return string(ev.Type) + " " + string(o.Reason)
	}
	return fmt.Sprintf("%s %T", ev.Type, ev.Object)
}

func TestWatchFromResourceVersion(t *testing.T) {
	c := clustertest.Start(t)
	ctx := t.Context()
	cms := c.Client().CoreV1().ConfigMaps("default")
	if _, err := cms.Create(ctx, configMap("before", map[string]string{"w": "1"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	list, err := cms.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion, LabelSelector: "w=1"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	a, _ := cms.Create(ctx, configMap("a", map[string]string{"w": "1"}), metav1.CreateOptions{})
	a.Data["k"] = "changed"
	a, _ = cms.Update(ctx, a, metav1.UpdateOptions{})
	a.Labels = nil // leaves the selector: seen as DELETED
	a, _ = cms.Update(ctx, a, metav1.UpdateOptions{})
	a.Labels = map[string]string{"w": "1"} // back in: ADDED
	a, _ = cms.Update(ctx, a, metav1.UpdateOptions{})
	if _, err := cms.Create(ctx, configMap("ignored", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	want := []string{"ADDED a", "MODIFIED a", "DELETED a", "ADDED a", "DELETED a"}
	var got []string
	var lastRV int
	for range want {
		ev := nextEvent(t, w)
		got = append(got, eventSummary(ev))
		rv, _ := strconv.Atoi(ev.Object.(*corev1.ConfigMap).ResourceVersion)
		if rv <= lastRV {
			t.Errorf("event resourceVersion %d after %d: not increasing", rv, lastRV)
		}
		lastRV = rv
	}
	if !slices.Equal(got, want) {
		t.Errorf("events = %v, want %v", got, want)
	}
}

func TestWatchWithoutResourceVersionStartsWithState(t *testing.T) {
	c := clustertest.Start(t)
	ctx := t.Context()
	cms := c.Client().CoreV1().ConfigMaps("default")
	for _, n := range []string{"x", "y"} {
		if _, err := cms.Create(ctx, configMap(n, nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	got := []string{eventSummary(nextEvent(t, w)), eventSummary(nextEvent(t, w))}
	if !slices.Equal(got, []string{"ADDED x", "ADDED y"}) {
		t.Errorf("initial events = %v, want ADDED x, ADDED y", got)
	}
}

func TestWatchCompactedIsGone(t *testing.T) {
	// The watch cache serves the revisions it holds, as upstream's does,
	// whatever etcd compacted: hold one change, so the watch reads etcd.
	c := clustertest.Start(t, clustertest.WithWatchCacheCapacity(1))
	ctx := t.Context()
	cms := c.Client().CoreV1().ConfigMaps("default")
	old, err := cms.Create(ctx, configMap("a", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The watch wants the changes after old: compact past the first of them.
	for _, n := range []string{"b", "c"} {
		if _, err := cms.Create(ctx, configMap(n, nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	c.Compact(t)
	var ev watch.Event
	for attempt := 0; ; attempt++ {
		w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: old.ResourceVersion})
		if err != nil {
			if !apierrors.IsResourceExpired(err) && !apierrors.IsGone(err) {
				t.Fatalf("watch from a compacted revision: %v, want 410", err)
			}
			return
		}
		ev = nextEvent(t, w)
		w.Stop()
		// Until the cache has seen c, it still holds b, the change the
		// watch wants first, and serves it (as upstream's would): try
		// again once it has moved on.
		if cm, ok := ev.Object.(*corev1.ConfigMap); !ok || cm.Name != "b" || attempt == 100 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	st, ok := ev.Object.(*metav1.Status)
	if ev.Type != watch.Error || !ok || st.Code != http.StatusGone || st.Reason != metav1.StatusReasonExpired {
		t.Fatalf("event = %s %+v, want ERROR with 410 Expired", ev.Type, ev.Object)
	}
	if want := "too old resource version: " + old.ResourceVersion; !contains(st.Message, want) {
		t.Errorf("message %q, want it to start with %q", st.Message, want)
	}
}

func TestWatchListSendsInitialEventsThenBookmark(t *testing.T) {
	c := clustertest.Start(t)
	ctx := t.Context()
	cms := c.Client().CoreV1().ConfigMaps("default")
	for _, n := range []string{"x", "y"} {
		if _, err := cms.Create(ctx, configMap(n, nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{
		SendInitialEvents:    ptr.To(true),
		AllowWatchBookmarks:  true,
		ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	got := []string{eventSummary(nextEvent(t, w)), eventSummary(nextEvent(t, w))}
	if !slices.Equal(got, []string{"ADDED x", "ADDED y"}) {
		t.Errorf("initial events = %v, want ADDED x, ADDED y", got)
	}
	bm := nextEvent(t, w)
	cm, ok := bm.Object.(*corev1.ConfigMap)
	if bm.Type != watch.Bookmark || !ok || cm.Annotations[metav1.InitialEventsAnnotationKey] != "true" || cm.ResourceVersion == "" {
		t.Fatalf("after the initial events got %s %+v, want a BOOKMARK annotated %s", bm.Type, bm.Object, metav1.InitialEventsAnnotationKey)
	}
	if _, err := cms.Create(ctx, configMap("z", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := eventSummary(nextEvent(t, w)); got != "ADDED z" {
		t.Errorf("after the bookmark got %s, want ADDED z", got)
	}

	// sendInitialEvents without bookmarks is refused, so a client can fall
	// back to list and watch instead of waiting forever.
	_, err = cms.Watch(ctx, metav1.ListOptions{SendInitialEvents: ptr.To(true), ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan})
	if !apierrors.IsInvalid(err) {
		t.Errorf("sendInitialEvents without allowWatchBookmarks: %v, want 422", err)
	}
}

func TestWatchBookmarks(t *testing.T) {
	c := clustertest.Start(t, clustertest.WithBookmarkInterval(200*time.Millisecond))
	ctx := t.Context()
	cms := c.Client().CoreV1().ConfigMaps("default")
	created, err := cms.Create(ctx, configMap("a", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: created.ResourceVersion, AllowWatchBookmarks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ev := nextEvent(t, w)
	cm, ok := ev.Object.(*corev1.ConfigMap)
	if ev.Type != watch.Bookmark || !ok {
		t.Fatalf("idle watch got %s %T, want a BOOKMARK", ev.Type, ev.Object)
	}
	got, _ := strconv.Atoi(cm.ResourceVersion)
	want, _ := strconv.Atoi(created.ResourceVersion)
	if got < want || cm.Name != "" {
		t.Errorf("bookmark resourceVersion %d name %q, want at least %d and no name", got, cm.Name, want)
	}
}
