package cronjob

import (
	"context"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// sync is the whole retry contract: an error means "retry with backoff", a
// positive duration means "look again then", zero means "done until an
// event".
func (c *Controller) sync(ctx context.Context, key cache.ObjectName) (time.Duration, error) {
	shared, err := c.cronJobs.CronJobs(key.Namespace).Get(key.Name)
	if apierrors.IsNotFound(err) {
		c.timers.Forget(key)
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	cj := shared.DeepCopy()
	jobs, err := c.children(cj)
	if err != nil {
		return 0, err
	}
	if cj, err = c.fresher(ctx, cj, jobs); err != nil || cj == nil {
		return 0, err
	}
	gone, err := c.gone(ctx, cj, jobs)
	if err != nil {
		return 0, err
	}
	p := decide(input{cj: cj, jobs: jobs, gone: gone, now: c.clock.Now(), local: c.local})
	if err := c.apply(ctx, cj, p); err != nil {
		return 0, err
	}
	return p.requeueAfter, nil
}

// children lists the CronJob's Jobs from the cache: those of its namespace
// whose controller reference carries its UID, whatever their labels
// (CRON-JOB-07).
func (c *Controller) children(cj *batchv1.CronJob) ([]*batchv1.Job, error) {
	objs, err := c.jobs.ByIndex(byController, string(cj.UID))
	if err != nil {
		return nil, err
	}
	var out []*batchv1.Job
	for _, obj := range objs {
		if j, ok := obj.(*batchv1.Job); ok && j.Namespace == cj.Namespace {
			out = append(out, j)
		}
	}
	return out, nil
}

// fresher re-reads the CronJob from the API server when the cache shows a
// running child that its status.active does not list: the cache may not
// have seen the status write that listed it yet (CRON-STAT-04). It returns
// the fresh copy, or nil when the CronJob is gone.
func (c *Controller) fresher(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) (*batchv1.CronJob, error) {
	unexpected := false
	for _, j := range jobs {
		if finishedAs(j) == "" && !inActive(&cj.Status, j.UID) {
			unexpected = true
			break
		}
	}
	if !unexpected {
		return cj, nil
	}
	fresh, err := c.client.BatchV1().CronJobs(cj.Namespace).Get(ctx, cj.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading cronjob %s/%s: %w", cj.Namespace, cj.Name, err)
	case fresh.UID != cj.UID:
		return nil, nil
	}
	return fresh, nil
}

// gone returns the status.active entries missing from the cache that the
// API server confirms are gone: not found, or found with another UID
// (CRON-STAT-03). A slow watch must not make a running Job look gone.
func (c *Controller) gone(ctx context.Context, cj *batchv1.CronJob, jobs []*batchv1.Job) (sets.Set[types.UID], error) {
	cached := sets.New[types.UID]()
	for _, j := range jobs {
		cached.Insert(j.UID)
	}
	out := sets.New[types.UID]()
	for _, ref := range cj.Status.Active {
		if cached.Has(ref.UID) {
			continue
		}
		job, err := c.client.BatchV1().Jobs(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			out.Insert(ref.UID)
		case err != nil:
			return nil, fmt.Errorf("reading job %s/%s of cronjob %s: %w", ref.Namespace, ref.Name, cj.Name, err)
		case job.UID != ref.UID:
			out.Insert(ref.UID)
		}
	}
	return out, nil
}

// apply performs a plan in upstream's order: prune the history, record the
// bookkeeping and schedule events, delete the Jobs being replaced, create
// the due Job, then write the status once if it changed (CRON-STAT-07).
func (c *Controller) apply(ctx context.Context, cj *batchv1.CronJob, p plan) error {
	st := p.status
	for _, j := range p.prune {
		c.removeJob(ctx, cj, j.Name, j.UID)
	}
	c.record(cj, p.events...)
	err := c.replace(ctx, cj, &st, p.replace)
	if err == nil && p.create != nil {
		err = c.create(ctx, cj, &st, p)
	}
	if !apiequality.Semantic.DeepEqual(cj.Status, st) {
		update := cj.DeepCopy()
		update.Status = st
		if _, uerr := c.client.BatchV1().CronJobs(cj.Namespace).UpdateStatus(ctx, update, metav1.UpdateOptions{}); uerr != nil {
			err = errors.Join(err, fmt.Errorf("updating status of cronjob %s/%s: %w", cj.Namespace, cj.Name, uerr))
		}
	}
	return err
}

// removeJob deletes a child Job in the background, so the garbage
// collector removes its pods (CRON-HIST-02, CRON-CONC-03). A Job already
// gone counts as deleted, without an event.
func (c *Controller) removeJob(ctx context.Context, cj *batchv1.CronJob, name string, uid types.UID) bool {
	policy := metav1.DeletePropagationBackground
	err := c.client.BatchV1().Jobs(cj.Namespace).Delete(ctx, name, metav1.DeleteOptions{
		PropagationPolicy: &policy,
		Preconditions:     &metav1.Preconditions{UID: &uid},
	})
	switch {
	case apierrors.IsNotFound(err):
		return true
	case err != nil:
		c.record(cj, warning(reasonFailedDelete, fmt.Sprintf(msgFailedDelete, err)))
		c.log.Debug("Deleting job failed", "cronjob", klog.KObj(cj), "job", name, "err", err)
		return false
	}
	c.record(cj, normal(reasonSuccessfulDelete, fmt.Sprintf(msgSuccessfulDelete, name)))
	return true
}

// replace deletes the active Jobs before a Replace run; each is read live
// first, as upstream does (CRON-CONC-03).
func (c *Controller) replace(ctx context.Context, cj *batchv1.CronJob, st *batchv1.CronJobStatus, refs []corev1.ObjectReference) error {
	for _, ref := range refs {
		job, err := c.client.BatchV1().Jobs(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			c.record(cj, warning(reasonFailedGet, fmt.Sprintf(msgFailedGet, err)))
			return fmt.Errorf("reading job %s/%s to replace it: %w", ref.Namespace, ref.Name, err)
		}
		if !c.removeJob(ctx, cj, job.Name, job.UID) {
			return fmt.Errorf("could not replace job %s/%s", job.Namespace, job.Name)
		}
		removeActive(st, ref.UID)
	}
	return nil
}

// create creates the due Job and books it in st (CRON-JOB-04..06).
func (c *Controller) create(ctx context.Context, cj *batchv1.CronJob, st *batchv1.CronJobStatus, p plan) error {
	job, err := c.client.BatchV1().Jobs(cj.Namespace).Create(ctx, p.create, metav1.CreateOptions{})
	switch {
	case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return fmt.Errorf("creating job %s: %w", p.create.Name, err)
	case apierrors.IsAlreadyExists(err):
		// Created earlier by this controller, which then failed to book
		// it, or by someone else, who is left alone (CRON-JOB-05).
		job, err = c.client.BatchV1().Jobs(cj.Namespace).Get(ctx, p.create.Name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("reading existing job %s: %w", p.create.Name, err)
		}
		if !metav1.IsControlledBy(job, cj) || inActive(st, job.UID) {
			return nil
		}
		c.log.Info("Job already exists", "cronjob", klog.KObj(cj), "job", klog.KObj(job))
	case err != nil:
		c.record(cj, warning(reasonFailedCreate, fmt.Sprintf(msgFailedCreate, err)))
		return fmt.Errorf("creating job %s: %w", p.create.Name, err)
	default:
		c.record(cj, normal(reasonSuccessfulCreate, fmt.Sprintf(msgSuccessfulCreate, job.Name)))
		c.log.Debug("Created job", "cronjob", klog.KObj(cj), "job", klog.KObj(job), "skew", c.clock.Since(p.scheduled))
	}
	st.Active = append(st.Active, jobRef(job))
	st.LastScheduleTime = &metav1.Time{Time: p.scheduled}
	return nil
}
