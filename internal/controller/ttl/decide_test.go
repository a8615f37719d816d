package ttl

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var now = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

type jobOpt func(*batchv1.Job)

func newJob(opts ...jobOpt) *batchv1.Job {
	j := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "ns"}}
	for _, o := range opts {
		o(j)
	}
	return j
}

func ttl(s int32) jobOpt { return func(j *batchv1.Job) { j.Spec.TTLSecondsAfterFinished = ptr.To(s) } }

func finished(t batchv1.JobConditionType, ago time.Duration) jobOpt {
	return func(j *batchv1.Job) {
		j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{
			Type: t, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now.Add(-ago)),
		})
	}
}

func TestDecide(t *testing.T) {
	tests := []struct {
		name    string
		job     *batchv1.Job
		want    verdict
		wantErr bool
	}{
		{name: "JOB-TTL-01 a running Job is no candidate", job: newJob(ttl(10))},
		{name: "JOB-TTL-05 a finished Job without a TTL is never deleted", job: newJob(finished(batchv1.JobComplete, time.Hour))},
		{
			name: "JOB-TTL-01 a Job being deleted is no candidate",
			job:  newJob(ttl(0), finished(batchv1.JobComplete, time.Hour), func(j *batchv1.Job) { j.DeletionTimestamp = &metav1.Time{Time: now} }),
		},
		{
			name: "JOB-TTL-01 a condition that is not True does not finish the Job",
			job: newJob(ttl(0), func(j *batchv1.Job) {
				j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionFalse, LastTransitionTime: metav1.NewTime(now)}}
			}),
		},
		{
			name: "JOB-TTL-04 before expiry the time left is returned",
			job:  newJob(ttl(60), finished(batchv1.JobComplete, 15*time.Second)),
			want: verdict{candidate: true, expireAt: now.Add(45 * time.Second), left: 45 * time.Second},
		},
		{
			name: "JOB-TTL-01 a failed Job is a candidate too",
			job:  newJob(ttl(60), finished(batchv1.JobFailed, 90*time.Second)),
			want: verdict{candidate: true, expireAt: now.Add(-30 * time.Second), left: -30 * time.Second},
		},
		{
			name: "JOB-TTL-02 the finish time is the condition's lastTransitionTime, not completionTime",
			job: newJob(ttl(100), finished(batchv1.JobComplete, 50*time.Second), func(j *batchv1.Job) {
				j.Status.CompletionTime = &metav1.Time{Time: now.Add(-time.Hour)}
			}),
			want: verdict{candidate: true, expireAt: now.Add(50 * time.Second), left: 50 * time.Second},
		},
		{
			name: "JOB-TTL-05 a TTL of 0 expires as the Job finishes",
			job:  newJob(ttl(0), finished(batchv1.JobComplete, 0)),
			want: verdict{candidate: true, expireAt: now},
		},
		{
			name: "JOB-TTL-06 a finish time in the future only defers the deletion",
			job:  newJob(ttl(10), finished(batchv1.JobComplete, -time.Minute)),
			want: verdict{candidate: true, expireAt: now.Add(70 * time.Second), left: 70 * time.Second},
		},
		{
			name: "JOB-TTL-06 a terminal condition without lastTransitionTime is an error",
			job: newJob(ttl(10), func(j *batchv1.Job) {
				j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue}}
			}),
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decide(tt.job, now)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(verdict{})); diff != "" {
				t.Errorf("decide() mismatch (-want +got):\n%s", diff)
			}
			if got.expired() != (tt.want.candidate && tt.want.left <= 0) {
				t.Errorf("expired() = %v", got.expired())
			}
		})
	}
}
