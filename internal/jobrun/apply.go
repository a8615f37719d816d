package jobrun

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// FieldManager is the server-side apply field manager of batchd run.
const FieldManager = "batchd-run"

// applier sends manifests to the server: server-side apply for named
// objects, create for those with only metadata.generateName.
type applier struct {
	dynamic   dynamic.Interface
	mapper    meta.RESTMapper
	namespace string // for namespaced objects that name none
}

// applied is an object as the server returned it.
type applied struct {
	obj     *unstructured.Unstructured
	display string // "job/pi"
	created bool   // created (generateName) rather than applied
}

func (a *applier) apply(ctx context.Context, m Manifest) (applied, error) {
	obj := m.Object.DeepCopy()
	gvk := obj.GroupVersionKind()
	mapping, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		if meta.IsNoMatchError(err) {
			return applied{}, Usage(fmt.Errorf("%s: the server does not serve %s", m.Source, gvk.GroupKind()))
		}
		return applied{}, Unavailable(fmt.Errorf("%s: finding the resource for %s: %w", m.Source, gvk.GroupKind(), err))
	}
	var ri dynamic.ResourceInterface = a.dynamic.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		if obj.GetNamespace() == "" {
			obj.SetNamespace(a.namespace)
		}
		ri = a.dynamic.Resource(mapping.Resource).Namespace(obj.GetNamespace())
	} else {
		obj.SetNamespace("")
	}
	display := strings.ToLower(gvk.Kind) + "/"
	var out *unstructured.Unstructured
	created := obj.GetName() == ""
	if created {
		out, err = ri.Create(ctx, obj, metav1.CreateOptions{FieldManager: FieldManager})
	} else {
		out, err = ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: FieldManager})
	}
	if err != nil {
		name := obj.GetName()
		if created {
			name = obj.GetGenerateName() + "*"
		}
		return applied{}, apiError(fmt.Errorf("%s: applying %s%s: %w", m.Source, display, name, err))
	}
	return applied{obj: out, display: display + out.GetName(), created: created}, nil
}

// apiError classifies an error from the server: a rejected request is the
// manifests' fault (ExitUsage), anything else the server's (ExitUnavailable).
func apiError(err error) error {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		switch status.Status().Code {
		case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusConflict,
			http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity, http.StatusForbidden:
			return Usage(err)
		}
	}
	return Unavailable(err)
}

// isKind reports whether u is a batch/v1 object of the given kind.
func isKind(u *unstructured.Unstructured, kind string) bool {
	gvk := u.GroupVersionKind()
	return gvk.Group == batchv1.GroupName && gvk.Kind == kind
}

// finishedBefore reports whether an applied Job already had a terminal
// condition: it existed, and applying it again runs nothing.
func finishedBefore(u *unstructured.Unstructured) bool {
	job := &batchv1.Job{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, job); err != nil {
		return false
	}
	return terminalCondition(job) != nil
}

// toCronJob converts an applied CronJob.
func toCronJob(u *unstructured.Unstructured) (*batchv1.CronJob, error) {
	cj := &batchv1.CronJob{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, cj); err != nil {
		return nil, fmt.Errorf("reading cronjob %s: %w", u.GetName(), err)
	}
	return cj, nil
}

// applyAll applies the manifests in order, then (with --now) creates a
// Job from each CronJob, and returns the Jobs to follow. On an error it
// returns the Jobs applied until then too.
func (s *Session) applyAll(ctx context.Context, v *view) ([]followed, error) {
	var jobs []followed
	var cronJobs []*batchv1.CronJob
	seen := map[types.UID]bool{}
	for _, m := range s.cfg.Manifests {
		a, err := s.apply.apply(ctx, m)
		if err != nil {
			return jobs, err
		}
		verb := "applied"
		if a.created {
			verb = "created"
		}
		v.line(a.display + " " + verb)
		switch {
		case isKind(a.obj, "Job"):
			if finishedBefore(a.obj) {
				v.line(a.display + " had already finished: it does not run again (delete it first, or name it with metadata.generateName)")
			}
			if !seen[a.obj.GetUID()] { // the same Job twice is followed once
				seen[a.obj.GetUID()] = true
				jobs = append(jobs, followed{namespace: a.obj.GetNamespace(), name: a.obj.GetName(), uid: a.obj.GetUID()})
			}
		case isKind(a.obj, "CronJob"):
			cj, err := toCronJob(a.obj)
			if err != nil {
				return jobs, Unavailable(err)
			}
			cronJobs = append(cronJobs, cj)
		}
	}
	for _, cj := range cronJobs {
		if !s.cfg.Now {
			v.line(fmt.Sprintf("cronjob/%s runs on its schedule (%s); --now runs it once now", cj.Name, cj.Spec.Schedule))
			continue
		}
		job, err := s.client.BatchV1().Jobs(cj.Namespace).Create(ctx, jobFromCronJob(cj), metav1.CreateOptions{FieldManager: FieldManager})
		if err != nil {
			return jobs, apiError(fmt.Errorf("creating a job from cronjob/%s: %w", cj.Name, err))
		}
		v.line(fmt.Sprintf("job/%s created from cronjob/%s", job.Name, cj.Name))
		jobs = append(jobs, followed{namespace: job.Namespace, name: job.Name, uid: job.UID})
	}
	return jobs, nil
}
