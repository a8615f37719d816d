package job_test

import (
	"sync"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// watchStatuses records every status of the Job from now on; the returned
// function gives those seen so far.
func watchStatuses(t *testing.T, e *env, job *batchv1.Job) func() []batchv1.JobStatus {
	t.Helper()
	w, err := e.c.BatchV1().Jobs(e.ns).Watch(t.Context(), metav1.ListOptions{
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", job.Name).String(),
		ResourceVersion: job.ResourceVersion,
	})
	must(t, err)
	var mu sync.Mutex
	var seen []batchv1.JobStatus
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev := range w.ResultChan() {
			if j, ok := ev.Object.(*batchv1.Job); ok {
				mu.Lock()
				seen = append(seen, *j.Status.DeepCopy())
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { w.Stop(); <-done })
	return func() []batchv1.JobStatus {
		mu.Lock()
		defer mu.Unlock()
		return append([]batchv1.JobStatus(nil), seen...)
	}
}
