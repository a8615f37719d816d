package cronjob_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	"golang.org/x/sync/errgroup"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/jobtest"
)

// dayCronJobs is how many CronJobs the simulated day runs.
const dayCronJobs = 1000

// daySchedule gives CronJob i its schedule and time zone: five groups of
// 200, every time on a quarter hour so that the day has at most 96 distinct
// schedule times, about 5,000 Jobs in all.
func daySchedule(i int) (schedule string, zone string) {
	m := 15 * (i % 4)
	switch i % 5 {
	case 0:
		return fmt.Sprintf("%d */3 * * *", m), ""
	case 1:
		return fmt.Sprintf("%d */6 * * *", m), ""
	case 2:
		return fmt.Sprintf("%d %d * * *", m, i%24), ""
	case 3:
		return "*/30 8-11 * * *", ""
	}
	if (i/5)%2 == 0 {
		return "0 */6 * * *", "Asia/Kathmandu" // UTC+5:45
	}
	return "0 */6 * * *", "Asia/Kolkata" // UTC+5:30
}

// fails says whether the test fails a Job rather than completing it.
func fails(jobName string) bool {
	h := fnv.New32a()
	h.Write([]byte(jobName))
	return h.Sum32()%3 == 0
}

// dayRun is what the test expects of one CronJob over the day.
type dayRun struct {
	cj    *batchv1.CronJob
	times []time.Time // schedule times in (creation, end]
}

// seen records every Job the informer saw added: how often, and the Job.
type seen struct {
	mu    sync.Mutex
	adds  map[string]int
	first map[string]*batchv1.Job
}

func (s *seen) add(obj any) {
	job, ok := obj.(*batchv1.Job)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.adds[job.Name]++
	if s.first[job.Name] == nil {
		s.first[job.Name] = job
	}
}

func (s *seen) get(name string) (*batchv1.Job, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first[name], s.adds[name]
}

// TestSimulatedDay runs 1,000 CronJobs through a simulated day on the fake
// clock: every expected Job is created exactly once, for the right CronJob,
// at its schedule time (name and annotation), the test finishes each one
// (a third fail), and at the end the history limits hold: each CronJob
// keeps exactly its newest successfulJobsHistoryLimit completed and
// failedJobsHistoryLimit failed Jobs, and its status is settled.
// CRON-SCHED-02 CRON-SCHED-07 CRON-SCHED-08 CRON-JOB-01 CRON-JOB-02
// CRON-STAT-05 CRON-STAT-06 CRON-HIST-01 CRON-HIST-02 CRON-SYN-05
func TestSimulatedDay(t *testing.T) {
	if testing.Short() {
		t.Skip("a simulated day of 1,000 CronJobs takes a while")
	}
	began := time.Now()
	e := start(t, false, clustertest.WithoutTTLController())
	ctx := t.Context()

	// The test's own view of the Jobs, through an informer.
	rec := &seen{adds: map[string]int{}, first: map[string]*batchv1.Job{}}
	factory := informers.NewSharedInformerFactoryWithOptions(e.c, 0, informers.WithNamespace(e.ns))
	jobs := factory.Batch().V1().Jobs().Informer()
	if _, err := jobs.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: rec.add}); err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	t.Cleanup(factory.Shutdown)
	if !cache.WaitForCacheSync(ctx.Done(), jobs.HasSynced) {
		t.Fatal("job informer did not sync")
	}

	// Create the CronJobs, 16 at a time.
	runs := make([]*dayRun, dayCronJobs)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i := range dayCronJobs {
		g.Go(func() error {
			schedule, zone := daySchedule(i)
			cj := e.cronJob(fmt.Sprintf("cj%04d", i), schedule, limits(int32(i%4), int32((i/4)%2)))
			if zone != "" {
				cj.Spec.TimeZone = ptr.To(zone)
			}
			got, err := e.c.BatchV1().CronJobs(e.ns).Create(gctx, cj, metav1.CreateOptions{})
			if err != nil {
				return err
			}
			runs[i] = &dayRun{cj: got}
			return nil
		})
	}
	must(t, g.Wait())
	created := time.Since(began)

	// Every schedule time of the day, per CronJob, from the parser alone.
	end := e.fc.Now().Add(24 * time.Hour)
	owner := map[string]*dayRun{}
	byTime := map[time.Time][]string{}
	total := 0
	for _, r := range runs {
		spec := r.cj.Spec.Schedule
		if tz := r.cj.Spec.TimeZone; tz != nil {
			spec = "TZ=" + *tz + " " + spec
		}
		sched, err := cron.ParseStandard(spec)
		must(t, err)
		for at := sched.Next(r.cj.CreationTimestamp.In(time.Local)); !at.After(end); at = sched.Next(at) {
			r.times = append(r.times, at)
			n := name(r.cj, at)
			owner[n] = r
			byTime[at] = append(byTime[at], n)
			total++
		}
	}
	steps := slices.SortedFunc(func(yield func(time.Time) bool) {
		for at := range byTime {
			if !yield(at) {
				return
			}
		}
	}, time.Time.Compare)
	t.Logf("%d CronJobs created in %v; %d Jobs expected at %d schedule times", dayCronJobs, created.Round(time.Millisecond), total, len(steps))

	// Walk the day: step to each schedule time, wait for its Jobs, check
	// them, finish them.
	sofar := 0
	for _, at := range steps {
		e.runAt(at)
		want := byTime[at]
		sofar += len(want)
		jobtest.Await(t, fmt.Sprintf("%d jobs of %v", len(want), at), func(context.Context) (bool, string, error) {
			missing := 0
			for _, n := range want {
				if j, _ := rec.get(n); j == nil {
					missing++
				}
			}
			return missing == 0, fmt.Sprintf("%d missing", missing), nil
		})
		rec.mu.Lock()
		if len(rec.adds) != sofar {
			t.Errorf("at %v: %d jobs created so far, want %d (none ahead of its time)", at, len(rec.adds), sofar)
		}
		rec.mu.Unlock()
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(16)
		for _, n := range want {
			job, adds := rec.get(n)
			r := owner[n]
			if adds != 1 {
				t.Errorf("job %s added %d times", n, adds)
			}
			if ref := metav1.GetControllerOf(job); ref == nil || ref.UID != r.cj.UID {
				t.Errorf("job %s not controlled by %s", n, r.cj.Name)
			}
			if got, err := time.Parse(time.RFC3339, job.Annotations[batchv1.CronJobScheduledTimestampAnnotation]); err != nil || !got.Equal(at) {
				t.Errorf("job %s scheduled-timestamp %q, want %v", n, job.Annotations[batchv1.CronJobScheduledTimestampAnnotation], at)
			}
			g.Go(func() error {
				_, err := jobtest.Finish(gctx, e.c, job, !fails(n), at.Add(10*time.Second))
				return err
			})
		}
		must(t, g.Wait())
		if t.Failed() {
			t.FailNow()
		}
	}
	walked := time.Since(began)

	// Nothing else was created, nothing twice.
	rec.mu.Lock()
	for n, adds := range rec.adds {
		if owner[n] == nil {
			t.Errorf("unexpected job %s", n)
		} else if adds != 1 {
			t.Errorf("job %s added %d times", n, adds)
		}
	}
	if len(rec.adds) != total {
		t.Errorf("%d jobs created, want %d", len(rec.adds), total)
	}
	rec.mu.Unlock()

	// History limits: each CronJob keeps exactly its newest Jobs of each
	// outcome, up to its limits.
	keep := map[types.UID][]string{}
	for _, r := range runs {
		var ok, bad []string
		for _, at := range r.times {
			if n := name(r.cj, at); fails(n) {
				bad = append(bad, n)
			} else {
				ok = append(ok, n)
			}
		}
		kept := append(ok[max(0, len(ok)-int(*r.cj.Spec.SuccessfulJobsHistoryLimit)):], bad[max(0, len(bad)-int(*r.cj.Spec.FailedJobsHistoryLimit)):]...)
		slices.Sort(kept)
		keep[r.cj.UID] = kept
	}
	jobtest.Await(t, "history limits", func(context.Context) (bool, string, error) {
		have := map[types.UID][]string{}
		for _, obj := range jobs.GetStore().List() {
			j := obj.(*batchv1.Job)
			if ref := metav1.GetControllerOf(j); ref != nil {
				have[ref.UID] = append(have[ref.UID], j.Name)
			}
		}
		wrong := 0
		var example string
		for uid, want := range keep {
			got := have[uid]
			slices.Sort(got)
			if !slices.Equal(got, want) {
				wrong++
				example = fmt.Sprintf("kept %v, want %v", got, want)
			}
		}
		return wrong == 0, fmt.Sprintf("%d CronJobs off, e.g. %s", wrong, example), nil
	})

	// Status: nothing active, the last schedule time and last success
	// booked.
	byUID := map[types.UID]*dayRun{}
	for _, r := range runs {
		byUID[r.cj.UID] = r
	}
	jobtest.Await(t, "settled status", func(ctx context.Context) (bool, string, error) {
		list, err := e.c.BatchV1().CronJobs(e.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		wrong := 0
		var example string
		for _, cj := range list.Items {
			r := byUID[cj.UID]
			last := r.times[len(r.times)-1]
			var lastOK time.Time
			for _, at := range r.times {
				if !fails(name(r.cj, at)) {
					lastOK = at.Add(10 * time.Second)
				}
			}
			st := cj.Status
			switch {
			case len(st.Active) != 0, st.LastScheduleTime == nil, !st.LastScheduleTime.Time.Equal(last),
				!lastOK.IsZero() && (st.LastSuccessfulTime == nil || !st.LastSuccessfulTime.Time.Equal(lastOK)):
				wrong++
				example = fmt.Sprintf("%s: %s, want lastScheduleTime %v, lastSuccessfulTime %v", cj.Name, describe(&cj), last, lastOK)
			}
		}
		return wrong == 0, fmt.Sprintf("%d CronJobs off, e.g. %s", wrong, example), nil
	})
	t.Logf("day walked in %v, settled in %v", walked.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}
