package batch

import (
	batchv1 "k8s.io/api/batch/v1"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/registry/core"
)

// Defaults of batch/v1 CronJobs, from upstream's SetDefaults_CronJob
// (CRON-DEF-01).
const (
	defaultSuccessfulJobsHistoryLimit = int32(3)
	defaultFailedJobsHistoryLimit     = int32(1)
)

// defaultCronJob fills a CronJob's defaults (CRON-DEF-01..03). The Job
// template is not Job-defaulted: its Jobs are, when they are created. Only
// its pod spec and pod failure policy get the defaults that upstream's
// generated defaulters apply wherever those types appear.
// startingDeadlineSeconds and timeZone stay unset.
func defaultCronJob(cj *batchv1.CronJob) {
	spec := &cj.Spec
	if spec.ConcurrencyPolicy == "" {
		spec.ConcurrencyPolicy = batchv1.AllowConcurrent
	}
	if spec.Suspend == nil {
		spec.Suspend = ptr.To(false)
	}
	if spec.SuccessfulJobsHistoryLimit == nil {
		spec.SuccessfulJobsHistoryLimit = ptr.To(defaultSuccessfulJobsHistoryLimit)
	}
	if spec.FailedJobsHistoryLimit == nil {
		spec.FailedJobsHistoryLimit = ptr.To(defaultFailedJobsHistoryLimit)
	}
	defaultPodFailurePolicy(spec.JobTemplate.Spec.PodFailurePolicy)
	core.DefaultPodSpec(&spec.JobTemplate.Spec.Template.Spec)
}
