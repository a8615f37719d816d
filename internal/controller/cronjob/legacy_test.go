package cronjob_test

import (
	"bytes"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
)

// plant rewrites a stored CronJob directly in etcd, as an older version of
// the API server could have stored it: the registry of today refuses such
// specs, but the controller must still handle them.
func (e *env) plant(t *testing.T, cj *batchv1.CronJob, change func(*batchv1.CronJob)) {
	t.Helper()
	key := "/registry/cronjobs/" + cj.Namespace + "/" + cj.Name
	kv := e.cluster.Etcd()
	resp, err := kv.Get(t.Context(), key)
	must(t, err)
	if len(resp.Kvs) != 1 {
		t.Fatalf("no CronJob stored at %s", key)
	}
	s := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)
	obj, _, err := s.Decode(resp.Kvs[0].Value, nil, nil)
	must(t, err)
	stored := obj.(*batchv1.CronJob)
	change(stored)
	stored.TypeMeta = metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"}
	var buf bytes.Buffer
	must(t, s.Encode(stored, &buf))
	txn, err := kv.Txn(t.Context()).
		If(clientv3.Compare(clientv3.ModRevision(key), "=", resp.Kvs[0].ModRevision)).
		Then(clientv3.OpPut(key, buf.String())).Commit()
	must(t, err)
	if !txn.Succeeded {
		t.Fatalf("CronJob %s changed while planting", key)
	}
}

// poke creates a running Job the CronJob controls, which makes the
// controller sync it at once.
func (e *env) poke(t *testing.T, cj *batchv1.CronJob, jobName string) {
	t.Helper()
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: jobName, Namespace: e.ns,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID, Controller: ptr.To(true)}}},
		Spec: *cj.Spec.JobTemplate.Spec.DeepCopy(),
	}
	_, err := e.c.BatchV1().Jobs(e.ns).Create(t.Context(), job, metav1.CreateOptions{})
	must(t, err)
}

// CRON-SYN-06 CRON-SCHED-09 CRON-SCHED-10: CronJobs stored before today's
// validation existed: a TZ= schedule is honoured with UnsupportedSchedule,
// an unparsable schedule and an unknown time zone give their warnings and
// run nothing.
func TestLegacyStoredCronJobs(t *testing.T) {
	e := start(t, false)
	t.Run("CRON-SYN-06 a TZ= prefix is honoured with UnsupportedSchedule", func(t *testing.T) {
		cj := e.create(t, e.cronJob("tokyo", "0 9 * * *", timeZone("Europe/Paris")))
		e.plant(t, cj, func(cj *batchv1.CronJob) { cj.Spec.Schedule = "TZ=Asia/Tokyo 0 9 * * *" })
		at := cj.CreationTimestamp.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour) // 9:00 in Tokyo
		// The controller sees the new schedule before its time comes.
		settle()
		e.runAt(at)
		jobs := e.awaitJobs(t, cj, name(cj, at))
		e.awaitEvent(t, cj, "Warning", "UnsupportedSchedule",
			`CRON_TZ or TZ used in schedule "TZ=Asia/Tokyo 0 9 * * *" is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details`)
		// timeZone is ignored for the schedule, not for the annotation.
		if got, want := jobs[0].Annotations[batchv1.CronJobScheduledTimestampAnnotation], at.In(mustLoad(t, "Europe/Paris")).Format(time.RFC3339); got != want {
			t.Errorf("annotation %s, want %s", got, want)
		}
	})
	t.Run("CRON-SCHED-09 an unparsable schedule", func(t *testing.T) {
		cj := e.create(t, e.cronJob("bad", "* * * * *", suspend))
		e.plant(t, cj, func(cj *batchv1.CronJob) { cj.Spec.Schedule = "61 * * * *"; cj.Spec.Suspend = ptr.To(false) })
		e.awaitEvent(t, cj, "Warning", "UnParseableCronJobSchedule", "unparseable schedule for cronjob: 61 * * * *")
		e.poke(t, cj, "bad-poke")
		e.awaitEvent(t, cj, "Warning", "UnparseableSchedule", `unparseable schedule: "61 * * * *" : end of range (61) above maximum (59): 61`)
		e.stepTo(e.fc.Now().Add(time.Hour))
		e.noNewJobs(t, cj, "bad-poke")
	})
	t.Run("CRON-SCHED-10 an unknown time zone, checked before suspend", func(t *testing.T) {
		cj := e.create(t, e.cronJob("mars", "* * * * *", suspend))
		e.plant(t, cj, func(cj *batchv1.CronJob) { cj.Spec.TimeZone = ptr.To("Mars/Base") })
		e.poke(t, cj, "mars-poke")
		e.awaitEvent(t, cj, "Warning", "UnknownTimeZone", `invalid timeZone: "Mars/Base": unknown time zone Mars/Base`)
		e.update(t, cj, func(cj *batchv1.CronJob) { cj.Spec.Suspend = ptr.To(false) })
		e.stepTo(e.fc.Now().Add(time.Hour))
		e.noNewJobs(t, cj, "mars-poke")
	})
}

func mustLoad(t *testing.T, zone string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	must(t, err)
	return loc
}
