package batch

import (
	"maps"
	"math"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/registry/core"
)

// Defaults of batch/v1 Jobs, from upstream's SetDefaults_Job (JOB-DEF).
const (
	defaultBackoffLimit = int32(6)
	// defaultBackoffLimitWithPerIndex is backoffLimit's default when
	// backoffLimitPerIndex is set: the per-index limit governs instead.
	defaultBackoffLimitWithPerIndex = int32(math.MaxInt32)
)

// defaultJob fills the Job spec defaults upstream's batch/v1 defaulting
// gives every decoded Job (JOB-DEF-01..08). It leaves activeDeadlineSeconds,
// ttlSecondsAfterFinished, backoffLimitPerIndex, maxFailedIndexes,
// successPolicy and managedBy alone (JOB-DEF-07). The Job's labels are
// defaulted separately, by defaultJobLabels, because on create that must
// happen after the selector labels are generated.
func defaultJob(job *batchv1.Job) {
	spec := &job.Spec
	if spec.Completions == nil && spec.Parallelism == nil {
		spec.Completions = ptr.To[int32](1)
		spec.Parallelism = ptr.To[int32](1)
	}
	if spec.Parallelism == nil {
		spec.Parallelism = ptr.To[int32](1)
	}
	if spec.BackoffLimit == nil {
		if spec.BackoffLimitPerIndex != nil {
			spec.BackoffLimit = ptr.To(defaultBackoffLimitWithPerIndex)
		} else {
			spec.BackoffLimit = ptr.To(defaultBackoffLimit)
		}
	}
	if spec.CompletionMode == nil {
		spec.CompletionMode = ptr.To(batchv1.NonIndexedCompletion)
	}
	if spec.Suspend == nil {
		spec.Suspend = ptr.To(false)
	}
	defaultPodFailurePolicy(spec.PodFailurePolicy)
	if spec.PodReplacementPolicy == nil {
		if spec.PodFailurePolicy != nil {
			spec.PodReplacementPolicy = ptr.To(batchv1.Failed)
		} else {
			spec.PodReplacementPolicy = ptr.To(batchv1.TerminatingOrFailed)
		}
	}
	if spec.ManualSelector == nil {
		spec.ManualSelector = ptr.To(false)
	}
	core.DefaultPodSpec(&spec.Template.Spec)
}

// defaultPodFailurePolicy makes every onPodConditions pattern without a
// status match status True (JOB-DEF-06). Jobs and the Job templates of
// CronJobs both get it.
func defaultPodFailurePolicy(p *batchv1.PodFailurePolicy) {
	if p == nil {
		return
	}
	for i := range p.Rules {
		for j := range p.Rules[i].OnPodConditions {
			if p.Rules[i].OnPodConditions[j].Status == "" {
				p.Rules[i].OnPodConditions[j].Status = corev1.ConditionTrue
			}
		}
	}
}

// defaultJobLabels gives a Job without labels its pod template's labels
// (JOB-DEF-09). Upstream's defaulting shares the template's map, so on
// create the Job also carries the selector labels generated afterwards;
// batchd gets the same result by defaulting after generating them.
func defaultJobLabels(job *batchv1.Job) {
	if len(job.Labels) == 0 && job.Spec.Template.Labels != nil {
		job.Labels = maps.Clone(job.Spec.Template.Labels)
	}
}
