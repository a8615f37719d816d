package cronjob

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
)

// base is a CronJob running every minute, created at 10:00:30.
const created = "2026-01-05T10:00:30Z"

func TestDecide(t *testing.T) {
	cj := newCronJob(created, "* * * * *")
	j1 := child(cj, "2026-01-05T10:01:00Z")
	j2 := child(cj, "2026-01-05T10:02:00Z")
	done1 := child(cj, "2026-01-05T10:01:00Z", completedAt("2026-01-05T10:01:40Z"))
	minute := time.Minute
	tests := []struct {
		name string
		cj   *batchv1.CronJob
		jobs []*batchv1.Job
		gone []types.UID
		now  string
		want summary
	}{
		{
			name: "CRON-SCHED-07 nothing is due before the first time after creation",
			cj:   newCronJob(created, "* * * * *"), now: "2026-01-05T10:00:31Z",
			want: summary{RequeueAfter: 29*time.Second + 100*time.Millisecond},
		},
		{
			name: "CRON-SCHED-07 CRON-JOB-01 the first run creates the Job named for its minute",
			cj:   newCronJob(created, "* * * * *"), now: "2026-01-05T10:01:00.1Z",
			want: summary{Create: "hello-29460121", Scheduled: "2026-01-05T10:01:00Z", RequeueAfter: minute},
		},
		{
			name: "CRON-CONC-01 Allow creates at each due time whatever runs",
			cj:   newCronJob(created, "* * * * *", lastScheduled("2026-01-05T10:01:00Z"), active(j1)), jobs: []*batchv1.Job{j1},
			now:  "2026-01-05T10:02:00.1Z",
			want: summary{Create: "hello-29460122", Scheduled: "2026-01-05T10:02:00Z", Active: []string{j1.Name}, LastSchedule: "2026-01-05T10:01:00Z", RequeueAfter: minute},
		},
		{
			name: "CRON-CONC-02 Forbid with a Job active: JobAlreadyActive, nothing created, lastScheduleTime kept",
			cj:   newCronJob(created, "* * * * *", policy(batchv1.ForbidConcurrent), lastScheduled("2026-01-05T10:01:00Z"), active(j1)),
			jobs: []*batchv1.Job{j1}, now: "2026-01-05T10:02:00.1Z",
			want: summary{
				Events: []string{"Normal JobAlreadyActive: Not starting job because prior execution is running and concurrency policy is Forbid"},
				Active: []string{j1.Name}, LastSchedule: "2026-01-05T10:01:00Z", RequeueAfter: minute,
			},
		},
		{
			name: "CRON-SCHED-11 CRON-CONC-02 a skipped Forbid run starts as soon as the Job finishes, before the next time",
			cj: newCronJob(created, "* * * * *", policy(batchv1.ForbidConcurrent), lastScheduled("2026-01-05T10:01:00Z"),
				active(child(cj, "2026-01-05T10:01:00Z"))),
			jobs: []*batchv1.Job{child(cj, "2026-01-05T10:01:00Z", completedAt("2026-01-05T10:02:30Z"))}, now: "2026-01-05T10:02:30Z",
			want: summary{
				Events: []string{"Normal SawCompletedJob: Saw completed job: hello-29460121, condition: Complete"},
				Create: "hello-29460122", Scheduled: "2026-01-05T10:02:00Z", LastSchedule: "2026-01-05T10:01:00Z",
				LastSuccess:  "2026-01-05T10:02:30Z",
				RequeueAfter: 30*time.Second + 100*time.Millisecond,
			},
		},
		{
			name: "CRON-SCHED-11 a skipped Forbid run whose next time passed gives way to the latest",
			cj: newCronJob(created, "* * * * *", policy(batchv1.ForbidConcurrent), lastScheduled("2026-01-05T10:01:00Z"),
				active(child(cj, "2026-01-05T10:01:00Z"))),
			jobs: []*batchv1.Job{child(cj, "2026-01-05T10:01:00Z", completedAt("2026-01-05T10:03:30Z"))}, now: "2026-01-05T10:03:30Z",
			want: summary{
				Events: []string{"Normal SawCompletedJob: Saw completed job: hello-29460121, condition: Complete"},
				Create: "hello-29460123", Scheduled: "2026-01-05T10:03:00Z", LastSchedule: "2026-01-05T10:01:00Z",
				LastSuccess:  "2026-01-05T10:03:30Z",
				RequeueAfter: 30*time.Second + 100*time.Millisecond,
			},
		},
		{
			name: "CRON-CONC-03 Replace deletes every active Job, then creates",
			cj: newCronJob(created, "* * * * *", policy(batchv1.ReplaceConcurrent), lastScheduled("2026-01-05T10:02:00Z"),
				active(j1, j2)),
			jobs: []*batchv1.Job{j1, j2}, now: "2026-01-05T10:03:00.1Z",
			want: summary{
				Replace: []string{j1.Name, j2.Name}, Create: "hello-29460123", Scheduled: "2026-01-05T10:03:00Z",
				Active: []string{j1.Name, j2.Name}, LastSchedule: "2026-01-05T10:02:00Z", RequeueAfter: minute,
			},
		},
		{
			name: "CRON-CONC-04 CRON-STAT-04 CRON-MAN-03 a running Job missing from status.active does not block Forbid",
			cj:   newCronJob(created, "* * * * *", policy(batchv1.ForbidConcurrent)),
			jobs: []*batchv1.Job{manual(cj, "manual-1")}, now: "2026-01-05T10:01:00.1Z",
			want: summary{
				Events: []string{"Warning UnexpectedJob: Saw a job that the controller did not create or forgot: manual-1"},
				Create: "hello-29460121", Scheduled: "2026-01-05T10:01:00Z", RequeueAfter: minute,
			},
		},
		{
			name: "CRON-SUS-01 suspended: no Job, no event for the skip, books kept, no timed requeue",
			cj:   newCronJob(created, "* * * * *", suspended, lastScheduled("2026-01-05T10:01:00Z"), active(done1)),
			jobs: []*batchv1.Job{done1}, now: "2026-01-05T10:05:00.1Z",
			want: summary{
				Events:       []string{"Normal SawCompletedJob: Saw completed job: hello-29460121, condition: Complete"},
				LastSchedule: "2026-01-05T10:01:00Z", LastSuccess: "2026-01-05T10:01:40Z",
			},
		},
		{
			name: "CRON-SUS-02 unsuspended after missed times: one Job, for the latest",
			cj:   newCronJob(created, "* * * * *", lastScheduled("2026-01-05T10:01:00Z")), now: "2026-01-05T10:07:30Z",
			want: summary{Create: "hello-29460127", Scheduled: "2026-01-05T10:07:00Z", LastSchedule: "2026-01-05T10:01:00Z", RequeueAfter: 30*time.Second + 100*time.Millisecond},
		},
		{
			name: "CRON-STAT-02 a failed active Job leaves status.active with SawCompletedJob",
			cj:   newCronJob(created, "* * * * *", lastScheduled("2026-01-05T10:01:00Z"), active(child(cj, "2026-01-05T10:01:00Z"))),
			jobs: []*batchv1.Job{child(cj, "2026-01-05T10:01:00Z", failedAt("2026-01-05T10:01:20Z"))}, now: "2026-01-05T10:01:20Z",
			want: summary{
				Events:       []string{"Normal SawCompletedJob: Saw completed job: hello-29460121, condition: Failed"},
				LastSchedule: "2026-01-05T10:01:00Z", RequeueAfter: 40*time.Second + 100*time.Millisecond,
			},
		},
		{
			name: "CRON-STAT-03 an active Job confirmed gone leaves with MissingJob; one found live stays",
			cj:   newCronJob(created, "* * * * *", lastScheduled("2026-01-05T10:02:00Z"), active(j1, j2)),
			gone: []types.UID{j1.UID}, now: "2026-01-05T10:02:10Z",
			want: summary{
				Events: []string{"Normal MissingJob: Active job went missing: hello-29460121"},
				Active: []string{j2.Name}, LastSchedule: "2026-01-05T10:02:00Z", RequeueAfter: 50*time.Second + 100*time.Millisecond,
			},
		},
		{
			name: "CRON-STAT-06 lastSuccessfulTime is the latest completionTime of any completed child",
			cj:   newCronJob(created, "* * * * *", lastScheduled("2026-01-05T10:02:00Z")),
			jobs: []*batchv1.Job{
				child(cj, "2026-01-05T10:01:00Z", completedAt("2026-01-05T10:02:50Z")),
				child(cj, "2026-01-05T10:02:00Z", completedAt("2026-01-05T10:02:40Z")),
				manual(cj, "manual-1", completedAt("2026-01-05T10:02:45Z")),
			},
			now:  "2026-01-05T10:02:55Z",
			want: summary{LastSchedule: "2026-01-05T10:02:00Z", LastSuccess: "2026-01-05T10:02:50Z", RequeueAfter: 5*time.Second + 100*time.Millisecond},
		},
		{
			name: "CRON-STAT-06 an older completion does not move lastSuccessfulTime back",
			cj: newCronJob(created, "* * * * *", lastScheduled("2026-01-05T10:02:00Z"), func(cj *batchv1.CronJob) {
				cj.Status.LastSuccessfulTime = mtime("2026-01-05T10:02:58Z")
			}),
			jobs: []*batchv1.Job{child(cj, "2026-01-05T10:01:00Z", completedAt("2026-01-05T10:02:50Z"))},
			now:  "2026-01-05T10:02:59Z",
			want: summary{LastSchedule: "2026-01-05T10:02:00Z", LastSuccess: "2026-01-05T10:02:58Z", RequeueAfter: 1*time.Second + 100*time.Millisecond},
		},
		{
			name: "CRON-HIST-01 CRON-HIST-02 CRON-HIST-03 finished Jobs beyond the default limits go oldest first; running ones stay",
			cj:   newCronJob(created, "* * * * *", lastScheduled("2026-01-05T10:07:00Z"), active(child(cj, "2026-01-05T10:07:00Z"))),
			jobs: []*batchv1.Job{
				child(cj, "2026-01-05T10:05:00Z", completedAt("2026-01-05T10:05:30Z")),
				child(cj, "2026-01-05T10:01:00Z", completedAt("2026-01-05T10:01:30Z")),
				child(cj, "2026-01-05T10:03:00Z", completedAt("2026-01-05T10:03:30Z")),
				child(cj, "2026-01-05T10:02:00Z", completedAt("2026-01-05T10:02:30Z")),
				child(cj, "2026-01-05T10:04:00Z", failedAt("2026-01-05T10:04:30Z")),
				child(cj, "2026-01-05T10:06:00Z", failedAt("2026-01-05T10:06:30Z")),
				child(cj, "2026-01-05T10:07:00Z"),
			},
			now: "2026-01-05T10:07:10Z",
			want: summary{
				Prune:  []string{"hello-29460121", "hello-29460124"},
				Active: []string{"hello-29460127"}, LastSchedule: "2026-01-05T10:07:00Z", LastSuccess: "2026-01-05T10:05:30Z",
				RequeueAfter: 50*time.Second + 100*time.Millisecond,
			},
		},
		{
			name: "CRON-HIST-02 Jobs without startTime count as newest, ties go by name",
			cj:   newCronJob(created, "* * * * *", limits(1, 1), lastScheduled("2026-01-05T10:03:00Z")),
			jobs: []*batchv1.Job{
				child(cj, "2026-01-05T10:03:00Z", completedAt("2026-01-05T10:03:30Z"), func(j *batchv1.Job) { j.Status.StartTime = nil }),
				manual(cj, "b-manual", completedAt("2026-01-05T10:02:30Z"), func(j *batchv1.Job) { j.Status.StartTime = mtime("2026-01-05T10:02:00Z") }),
				manual(cj, "a-manual", completedAt("2026-01-05T10:02:30Z"), func(j *batchv1.Job) { j.Status.StartTime = mtime("2026-01-05T10:02:00Z") }),
			},
			now: "2026-01-05T10:03:40Z",
			want: summary{
				Prune:        []string{"a-manual", "b-manual"},
				LastSchedule: "2026-01-05T10:03:00Z", LastSuccess: "2026-01-05T10:03:30Z", RequeueAfter: 20*time.Second + 100*time.Millisecond,
			},
		},
		{
			name: "CRON-HIST-03 CRON-HIST-04 limit 0 prunes every finished Job, manual ones included, also while suspended",
			cj:   newCronJob(created, "* * * * *", suspended, limits(0, 0), active(done1)),
			jobs: []*batchv1.Job{done1, manual(cj, "manual-1", failedAt("2026-01-05T10:02:00Z")), manual(cj, "manual-2", beingDeleted, failedAt("2026-01-05T10:02:00Z"))},
			now:  "2026-01-05T10:03:00Z",
			want: summary{Prune: []string{"hello-29460121", "manual-1"}, LastSuccess: "2026-01-05T10:01:40Z"},
		},
		{
			name: "CRON-SCHED-03 more than 100 missed times: TooManyMissedTimes, and the latest still runs",
			cj:   newCronJob(created, "* * * * *"), now: "2026-01-05T12:00:00.1Z",
			want: summary{
				Events: []string{"Warning TooManyMissedTimes: too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew"},
				Create: "hello-29460240", Scheduled: "2026-01-05T12:00:00Z", RequeueAfter: minute,
			},
		},
		{
			name: "CRON-SCHED-03 startingDeadlineSeconds avoids the warning",
			cj:   newCronJob(created, "* * * * *", deadline(200)), now: "2026-01-05T12:00:00.1Z",
			want: summary{Create: "hello-29460240", Scheduled: "2026-01-05T12:00:00Z", RequeueAfter: minute},
		},
		{
			name: "CRON-SCHED-04 a schedule that never fires: InvalidSchedule, no timed requeue",
			cj:   newCronJob(created, "59 23 31 2 *"), now: "2026-01-05T12:00:00Z",
			want: summary{Events: []string{"Warning InvalidSchedule: invalid schedule: 59 23 31 2 * : time difference between two schedules is less than 1 second"}},
		},
		{
			name: "CRON-SCHED-05 a time older than startingDeadlineSeconds is skipped silently",
			cj:   newCronJob(created, "*/5 * * * *", deadline(30)), now: "2026-01-05T10:05:45Z",
			want: summary{RequeueAfter: 4*time.Minute + 15*time.Second + 100*time.Millisecond},
		},
		{
			name: "CRON-SCHED-05 a time within startingDeadlineSeconds still runs",
			cj:   newCronJob(created, "*/5 * * * *", deadline(30)), now: "2026-01-05T10:05:20Z",
			want: summary{Create: "hello-29460125", Scheduled: "2026-01-05T10:05:00Z", RequeueAfter: 4*time.Minute + 40*time.Second + 100*time.Millisecond},
		},
		{
			name: "CRON-SCHED-06 a due time whose Job is in status.active is skipped",
			cj:   newCronJob(created, "* * * * *", active(j1)), jobs: []*batchv1.Job{j1}, now: "2026-01-05T10:01:10Z",
			want: summary{Active: []string{j1.Name}, RequeueAfter: 50*time.Second + 100*time.Millisecond},
		},
		{
			name: "CRON-SCHED-06 a due time equal to lastScheduleTime is skipped",
			cj: newCronJob(created, "* * * * *", lastScheduled("2026-01-05T10:01:00Z"), func(cj *batchv1.CronJob) {
				cj.CreationTimestamp = metav1.NewTime(at("2026-01-05T10:01:00Z").Add(-time.Nanosecond))
			}),
			now:  "2026-01-05T10:01:10Z",
			want: summary{LastSchedule: "2026-01-05T10:01:00Z", RequeueAfter: 50*time.Second + 100*time.Millisecond},
		},
		{
			name: "CRON-SCHED-09 an unparsable stored schedule: UnparseableSchedule, no timed requeue",
			cj:   newCronJob(created, "61 * * * *"), now: "2026-01-05T10:05:00Z",
			want: summary{Events: []string{`Warning UnparseableSchedule: unparseable schedule: "61 * * * *" : end of range (61) above maximum (59): 61`}},
		},
		{
			name: "CRON-SCHED-10 an unknown time zone: UnknownTimeZone, checked before suspend, no requeue",
			cj:   newCronJob(created, "* * * * *", suspended, timeZone("Mars/Base")), now: "2026-01-05T10:05:00Z",
			want: summary{Events: []string{`Warning UnknownTimeZone: invalid timeZone: "Mars/Base": unknown time zone Mars/Base`}},
		},
		{
			name: "CRON-SYN-06 a legacy TZ schedule runs in its zone with UnsupportedSchedule",
			cj:   newCronJob("2026-01-05T01:00:00Z", "TZ=Asia/Tokyo 0 9 * * *", timeZone("Europe/Paris")), now: "2026-01-06T00:00:00.1Z",
			want: summary{
				Events: []string{`Warning UnsupportedSchedule: CRON_TZ or TZ used in schedule "TZ=Asia/Tokyo 0 9 * * *" is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details`},
				Create: "hello-29460960", Scheduled: "2026-01-06T00:00:00Z", RequeueAfter: 24 * time.Hour,
			},
		},
		{
			name: "CRON-STAT-07 CRON-GC-03 a CronJob being deleted keeps its books and creates nothing",
			cj:   newCronJob(created, "* * * * *", deleting, lastScheduled("2026-01-05T10:01:00Z"), active(done1)),
			jobs: []*batchv1.Job{done1}, now: "2026-01-05T10:05:00.1Z",
			want: summary{
				Events:       []string{"Normal SawCompletedJob: Saw completed job: hello-29460121, condition: Complete"},
				LastSchedule: "2026-01-05T10:01:00Z", LastSuccess: "2026-01-05T10:01:40Z",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.cj.DeepCopy()
			got := summarize(decide(input{cj: tt.cj, jobs: tt.jobs, gone: sets.New(tt.gone...), now: at(tt.now), local: time.UTC}))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decide() mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tt.cj); diff != "" {
				t.Errorf("decide() changed its input (-before +after):\n%s", diff)
			}
		})
	}
}

// TestNewJob pins the Job a CronJob creates (CRON-JOB-01..03).
func TestNewJob(t *testing.T) {
	cj := newCronJob(created, "0 5 * * *", timeZone("America/New_York"))
	loc, err := zone(cj)
	if err != nil {
		t.Fatal(err)
	}
	job := newJob(cj, at("2026-01-05T10:00:00Z"), loc)
	t.Run("CRON-JOB-01 name and namespace", func(t *testing.T) {
		if job.Name != "hello-29460120" || job.Namespace != "ns" {
			t.Errorf("job %s/%s", job.Namespace, job.Name)
		}
	})
	t.Run("CRON-JOB-02 template labels, annotations and the scheduled time in the CronJob's zone", func(t *testing.T) {
		want := map[string]string{"note": "x", batchv1.CronJobScheduledTimestampAnnotation: "2026-01-05T05:00:00-05:00"}
		if diff := cmp.Diff(want, job.Annotations); diff != "" {
			t.Errorf("annotations (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string]string{"app": "hello"}, job.Labels); diff != "" {
			t.Errorf("labels (-want +got):\n%s", diff)
		}
		utc := newJob(newCronJob(created, "* * * * *"), at("2026-01-05T10:00:00Z"), time.UTC)
		if got := utc.Annotations[batchv1.CronJobScheduledTimestampAnnotation]; got != "2026-01-05T10:00:00Z" {
			t.Errorf("annotation without timeZone = %s, want UTC", got)
		}
	})
	t.Run("CRON-JOB-03 one controller ownerReference and a copy of the template's spec", func(t *testing.T) {
		want := []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: "hello", UID: "cj-uid", Controller: new(true), BlockOwnerDeletion: new(true)}}
		if diff := cmp.Diff(want, job.OwnerReferences); diff != "" {
			t.Errorf("ownerReferences (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(cj.Spec.JobTemplate.Spec, job.Spec); diff != "" {
			t.Errorf("spec (-want +got):\n%s", diff)
		}
		job.Spec.Template.Spec.Containers[0].Image = "changed"
		job.Annotations["note"] = "changed"
		if cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Image != "busybox" || cj.Spec.JobTemplate.Annotations["note"] != "x" {
			t.Errorf("the Job shares memory with the CronJob's template")
		}
	})
	t.Run("CRON-STAT-01 the status.active reference", func(t *testing.T) {
		j := child(cj, "2026-01-05T10:00:00Z")
		want := corev1.ObjectReference{Kind: "Job", Namespace: "ns", Name: j.Name, UID: j.UID, APIVersion: "batch/v1", ResourceVersion: "7"}
		if diff := cmp.Diff(want, jobRef(j)); diff != "" {
			t.Errorf("reference (-want +got):\n%s", diff)
		}
	})
}

// TestMissScheduleIsUnreachable checks, over random CronJobs, what spec
// 29 says of CRON-SCHED-05: with the reference clamped to now minus
// startingDeadlineSeconds, a due time is always within the deadline, so
// old times are skipped silently and MissSchedule never shows.
func TestMissScheduleIsUnreachable(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	schedules := []string{"* * * * *", "*/7 * * * *", "0 */3 * * *", "@every 45s", "@every 2h", "30 6-16/4 * * 1-5"}
	base := at(created)
	for i := range 5000 {
		cj := newCronJob(created, schedules[i%len(schedules)], deadline(r.Int64N(7200)))
		if r.IntN(2) == 0 {
			cj.Status.LastScheduleTime = &metav1.Time{Time: base.Add(time.Duration(r.Int64N(3600)) * time.Second)}
		}
		now := base.Add(time.Duration(r.Int64N(int64(72 * time.Hour))))
		p := decide(input{cj: cj, gone: sets.New[types.UID](), now: now, local: time.UTC})
		for _, e := range p.events {
			if e.reason == reasonMissSchedule {
				t.Fatalf("CRON-SCHED-05 MissSchedule for %q sds=%d last=%v now=%v", cj.Spec.Schedule, *cj.Spec.StartingDeadlineSeconds, cj.Status.LastScheduleTime, now)
			}
		}
		if p.create != nil && p.scheduled.Add(time.Duration(*cj.Spec.StartingDeadlineSeconds)*time.Second).Before(now) {
			t.Fatalf("CRON-SCHED-05 created %s beyond the deadline at %v", p.create.Name, now)
		}
		if p.create != nil && !strings.HasPrefix(p.create.Name, "hello-") {
			t.Fatalf("job name %s", p.create.Name)
		}
	}
}
