package cronjob_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/jobtest"
)

// runTwice makes the CronJob run at its first two minutes and returns the
// Job names.
func (e *env) runTwice(t *testing.T, cj *batchv1.CronJob) []string {
	t.Helper()
	first := firstMinute(cj)
	e.runAt(first)
	e.awaitJobs(t, cj, name(cj, first))
	e.runAt(first.Add(time.Minute))
	names := []string{name(cj, first), name(cj, first.Add(time.Minute))}
	e.awaitJobs(t, cj, names...)
	e.awaitCronJob(t, cj, "both active", hasActive(names...))
	return names
}

// CRON-GC-01 CRON-MAN-03: deleting a CronJob without a propagation policy
// deletes its Jobs in the background, a manual one too, and their pods
// with them.
func TestDeleteCascades(t *testing.T) {
	e := start(t, true)
	cj := e.create(t, e.cronJob("cascade", "* * * * *"))
	names := e.runTwice(t, cj)
	manual := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "manual", Namespace: e.ns,
			Annotations:     map[string]string{"cronjob.kubernetes.io/instantiate": "manual"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID, Controller: ptr.To(true)}}},
		Spec: *cj.Spec.JobTemplate.Spec.DeepCopy(),
	}
	_, err := e.c.BatchV1().Jobs(e.ns).Create(t.Context(), manual, metav1.CreateOptions{})
	must(t, err)
	jobtest.Await(t, "pods of the three Jobs "+fmt.Sprint(names), func(ctx context.Context) (bool, string, error) {
		pods, err := e.c.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		return len(pods.Items) == 3, fmt.Sprint(len(pods.Items)), nil
	})
	must(t, e.c.BatchV1().CronJobs(e.ns).Delete(t.Context(), cj.Name, metav1.DeleteOptions{}))
	jobtest.Await(t, "Jobs and pods gone", func(ctx context.Context) (bool, string, error) {
		jobs, err := e.c.BatchV1().Jobs(e.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		pods, err := e.c.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		return len(jobs.Items) == 0 && len(pods.Items) == 0, fmt.Sprintf("%d jobs, %d pods", len(jobs.Items), len(pods.Items)), nil
	})
}

// CRON-GC-02: with Orphan the Jobs lose their ownerReference and stay.
func TestDeleteOrphans(t *testing.T) {
	e := start(t, false)
	cj := e.create(t, e.cronJob("orphan", "* * * * *"))
	names := e.runTwice(t, cj)
	// The garbage collector orphans the dependents it knows of: let it see
	// the second Job, only just created, before the delete.
	settle()
	must(t, e.c.BatchV1().CronJobs(e.ns).Delete(t.Context(), cj.Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationOrphan)}))
	jobtest.Await(t, "Jobs orphaned", func(ctx context.Context) (bool, string, error) {
		if _, err := e.c.BatchV1().CronJobs(e.ns).Get(ctx, cj.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return false, "cronjob still there", nil
		}
		for _, n := range names {
			j, err := e.c.BatchV1().Jobs(e.ns).Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return false, err.Error(), nil
			}
			if len(j.OwnerReferences) != 0 {
				return false, n + " still owned", nil
			}
		}
		return true, "", nil
	})
}

// CRON-GC-02 CRON-GC-03 CRON-STAT-07: with Foreground the CronJob stays
// until its Jobs are gone (a finalizer holds one here); meanwhile it
// creates no Job, and keeps only its books.
func TestDeleteForeground(t *testing.T) {
	e := start(t, false)
	cj := e.create(t, e.cronJob("fg", "* * * * *"))
	names := e.runTwice(t, cj)
	held, err := e.c.BatchV1().Jobs(e.ns).Get(t.Context(), names[1], metav1.GetOptions{})
	must(t, err)
	held.Finalizers = append(held.Finalizers, "batchd.test/hold")
	_, err = e.c.BatchV1().Jobs(e.ns).Update(t.Context(), held, metav1.UpdateOptions{})
	must(t, err)

	must(t, e.c.BatchV1().CronJobs(e.ns).Delete(t.Context(), cj.Name, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)}))
	jobtest.Await(t, "the unheld Job gone, the held one being deleted", func(ctx context.Context) (bool, string, error) {
		jobs, err := jobsOf(ctx, e.c, cj)
		if err != nil {
			return false, err.Error(), nil
		}
		return len(jobs) == 1 && jobs[0].DeletionTimestamp != nil, fmt.Sprint(jobNames(jobs)), nil
	})
	cur := e.get(t, cj)
	if cur.DeletionTimestamp == nil {
		t.Fatalf("CronJob not being deleted")
	}

	// CRON-GC-03: no new Job while being deleted.
	third := firstMinute(cj).Add(2 * time.Minute)
	e.runAt(third)
	e.noNewJobs(t, cj, names[1])
	// CRON-STAT-07: the books are still kept.
	e.finish(t, names[1], true)
	e.awaitCronJob(t, cj, "bookkeeping while deleted", func(cj *batchv1.CronJob) bool {
		return len(cj.Status.Active) == 0 && cj.Status.LastSuccessfulTime != nil
	})
	e.noEvent(t, cj, "SuccessfulDelete") // no history cleanup of a Job already being deleted

	held, err = e.c.BatchV1().Jobs(e.ns).Get(t.Context(), names[1], metav1.GetOptions{})
	must(t, err)
	held.Finalizers = nil
	_, err = e.c.BatchV1().Jobs(e.ns).Update(t.Context(), held, metav1.UpdateOptions{})
	must(t, err)
	jobtest.Await(t, "the CronJob gone once its Jobs are", func(ctx context.Context) (bool, string, error) {
		_, err := e.c.BatchV1().CronJobs(e.ns).Get(ctx, cj.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err), nil
	})
}
