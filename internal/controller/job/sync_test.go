package job

import (
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/apimachinery/pkg/runtime"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/batchd/batchd/internal/jobtest"
)

// events collects recorded events.
type events struct{ got []event }

func (r *events) Event(_ runtime.Object, typ, reason, message string) {
	r.got = append(r.got, event{typ: typ, reason: reason, message: message})
}
func (r *events) Eventf(o runtime.Object, typ, reason, f string, args ...any) {}
func (r *events) AnnotatedEventf(o runtime.Object, a map[string]string, typ, reason, f string, args ...any) {
}

func TestUnknownCompletionMode(t *testing.T) {
	// JOB-SYNC-05
	job := newJob(jobtest.CompletionMode("Bogus"), jobtest.Namespace("ns"))
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	if err := idx.Add(job); err != nil {
		t.Fatal(err)
	}
	rec := &events{}
	c := &Controller{jobs: batchlisters.NewJobLister(idx), recorder: rec}
	after, err := c.sync(t.Context(), cache.MetaObjectToName(job))
	if err != nil || after != 0 {
		t.Fatalf("sync = %v, %v", after, err)
	}
	want := []event{warning("UnknownCompletionMode", "Skipped Job sync because completion mode is unknown")}
	if len(rec.got) != 1 || rec.got[0] != want[0] {
		t.Errorf("events %v, want %v", rec.got, want)
	}
	_ = batchv1.IndexedCompletion
}
