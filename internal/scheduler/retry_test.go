package scheduler

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/cache"
)

func TestBackoff(t *testing.T) {
	var got []time.Duration
	for failures := 1; failures <= 6; failures++ {
		got = append(got, backoff(failures))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("backoff(1..6) mismatch (-want +got):\n%s", diff)
	}
}

func TestParking(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a, b := cache.ObjectName{Namespace: "ns", Name: "a"}, cache.ObjectName{Namespace: "ns", Name: "b"}
	p := newParking()

	gen := p.generation()
	if parked, _ := p.park(a, causeResources, gen, now); !parked {
		t.Fatal("a was not parked")
	}
	if parked, _ := p.park(b, causeNode, gen, now); !parked {
		t.Fatal("b was not parked")
	}

	// A pod leaving helps a (resources), not b (node).
	got := p.move(causeResources|causeAntiAffinity, now.Add(300*time.Millisecond))
	want := []keyDelay{{a, 700 * time.Millisecond}} // what is left of 1s
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(keyDelay{})); diff != "" {
		t.Errorf("move(resources) mismatch (-want +got):\n%s", diff)
	}
	if !p.isParked(b) || p.isParked(a) {
		t.Errorf("after move: a parked %v, b parked %v; want only b", p.isParked(a), p.isParked(b))
	}

	// An attempt that overlapped a move of a kind that may help it is not
	// parked: it may have missed the change. Its backoff has grown to 2s.
	gen = p.generation()
	p.move(causeAffinity, now) // cannot help a pod short of resources
	p.move(causeResources, now)
	parked, delay := p.park(a, causeResources, gen, now.Add(time.Second))
	if parked || delay != 2*time.Second {
		t.Errorf("park after a concurrent move = %v, %v; want false, 2s", parked, delay)
	}
	gen = p.generation()
	p.move(causeAffinity, now)
	if parked, _ := p.park(a, causeResources, gen, now.Add(2*time.Second)); !parked {
		t.Errorf("a move of another kind kept a pod out of the lot")
	}
	p.move(causeResources, now)

	// Park b again and let it expire.
	p.move(causeNode, now)
	p.park(b, causeNode, p.generation(), now)
	if got := p.expire(now.Add(maxParked - time.Second)); len(got) != 0 {
		t.Errorf("expire before maxParked = %v, want none", got)
	}
	got = p.expire(now.Add(maxParked))
	if diff := cmp.Diff([]keyDelay{{b, 0}}, got, cmp.AllowUnexported(keyDelay{})); diff != "" {
		t.Errorf("expire(maxParked) mismatch (-want +got):\n%s", diff)
	}

	// Once bound, a pod's history is gone.
	p.done(a)
	if d := p.unpark(a, now); d != 0 {
		t.Errorf("backoff left after done = %v, want 0", d)
	}
	if got := p.move(causeNode|causeResources|causeAffinity|causeAntiAffinity, now); len(got) != 0 {
		t.Errorf("move with nothing parked = %v", got)
	}
}
