package job

import (
	"fmt"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/batchd/batchd/internal/jobtest"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// newJob is a defaulted, started Job as the controller sees it.
func newJob(opts ...jobtest.Option) *batchv1.Job {
	init := func(j *batchv1.Job) {
		j.Status.StartTime = &metav1.Time{Time: now.Add(-time.Minute)}
		j.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	return jobtest.Default(jobtest.New("j", append([]jobtest.Option{jobtest.UID("juid"), init}, opts...)...))
}

// podOpt changes a test pod.
type podOpt func(*corev1.Pod)

var podSeq int

// newPod is a pod of job carrying the tracking finalizer, Pending.
func newPod(job *batchv1.Job, opts ...podOpt) *corev1.Pod {
	podSeq++
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:              fmt.Sprintf("p%d", podSeq),
			Namespace:         job.Namespace,
			UID:               types.UID(fmt.Sprintf("uid%d", podSeq)),
			Labels:            job.Spec.Template.Labels,
			Finalizers:        []string{batchv1.JobTrackingFinalizer},
			OwnerReferences:   []metav1.OwnerReference{controllerRef(job)},
			CreationTimestamp: metav1.NewTime(now.Add(-time.Hour + time.Duration(podSeq)*time.Second)),
		},
		Spec:   job.Spec.Template.Spec,
		Status: corev1.PodStatus{Phase: corev1.PodPending},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func running(p *corev1.Pod) { p.Status.Phase = corev1.PodRunning }

func ready(p *corev1.Pod) {
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue})
}

func succeeded(p *corev1.Pod) {
	p.Status.Phase = corev1.PodSucceeded
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", State: corev1.ContainerState{
		Terminated: &corev1.ContainerStateTerminated{FinishedAt: metav1.NewTime(now.Add(-time.Second))}}}}
}

// failedAt fails the pod with exit code 1 at time t.
func failedAt(t time.Time) podOpt { return exitAt("main", 1, t) }

func failed(p *corev1.Pod) { failedAt(now.Add(-time.Hour))(p) }

func exitAt(container string, code int32, t time.Time) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodFailed
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: container, State: corev1.ContainerState{
			Terminated: &corev1.ContainerStateTerminated{ExitCode: code, FinishedAt: metav1.NewTime(t)}}}}
	}
}

func exitCode(code int32) podOpt { return exitAt("main", code, now.Add(-time.Hour)) }

func deleting(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: now.Add(-time.Hour)} }

func noFinalizer(p *corev1.Pod) { p.Finalizers = nil }

func scheduled(p *corev1.Pod) { p.Spec.NodeName = "n1" }

func index(ix int) podOpt {
	return func(p *corev1.Pod) {
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations[batchv1.JobCompletionIndexAnnotation] = strconv.Itoa(ix)
	}
}

func annotation(k, v string) podOpt {
	return func(p *corev1.Pod) {
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations[k] = v
	}
}

func condition(t corev1.PodConditionType) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: corev1.ConditionTrue})
	}
}

func restarts(n int32) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "main", RestartCount: n}}
	}
}

// run decides one sync with satisfied expectations and an empty record.
func run(job *batchv1.Job, pods ...*corev1.Pod) plan {
	return decide(input{job: job, pods: pods, satisfied: true, expectedRemovals: sets.New[types.UID](), now: now, tuning: upstreamTuning})
}

func names(pods []*corev1.Pod) []string {
	var out []string
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

func uids(pods ...*corev1.Pod) []types.UID {
	var out []types.UID
	for _, p := range pods {
		out = append(out, p.UID)
	}
	return out
}

func condTypes(st batchv1.JobStatus) []string {
	var out []string
	for _, c := range st.Conditions {
		out = append(out, string(c.Type)+"/"+c.Reason)
	}
	return out
}

func createdIndexes(p plan) []int {
	var out []int
	for _, pod := range p.create {
		out = append(out, completionIndex(pod))
	}
	return out
}
