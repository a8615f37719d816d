package apiserver_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/registry"
)

// Events written through events.k8s.io/v1 are core/v1 Events too, and the
// other way round, as upstream stores them once.
func TestEventsBothAPIs(t *testing.T) {
	c := clustertest.Start(t)
	ctx := t.Context()
	now := metav1.NewMicroTime(time.Now().Truncate(time.Microsecond))
	ev := &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: "j.1"},
		EventTime:           now,
		ReportingController: "batchd/job-controller",
		ReportingInstance:   "batchd-1",
		Action:              "Create",
		Reason:              "SuccessfulCreate",
		Note:                "Created pod: j-abcde",
		Type:                corev1.EventTypeNormal,
		Regarding:           corev1.ObjectReference{Kind: "Job", Namespace: "default", Name: "j", APIVersion: "batch/v1"},
	}
	if _, err := c.Client().EventsV1().Events("default").Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	core, err := c.Client().CoreV1().Events("default").Get(ctx, "j.1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if core.Message != ev.Note || core.InvolvedObject.Name != "j" || core.Reason != ev.Reason || core.ReportingController != ev.ReportingController {
		t.Errorf("core view = %+v, want the note as message and regarding as involvedObject", core)
	}
	list, err := c.Client().CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=Job,involvedObject.name=j,reason=SuccessfulCreate"})
	if err != nil || len(list.Items) != 1 {
		t.Errorf("core list by involvedObject = %v, %v; want the event", list, err)
	}

	old := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "p.2"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "p"},
		Reason:         "Scheduled", Message: "assigned", Type: corev1.EventTypeNormal, Count: 3,
		Source: corev1.EventSource{Component: "default-scheduler"},
	}
	if _, err := c.Client().CoreV1().Events("default").Create(ctx, old, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := c.Client().EventsV1().Events("default").Get(ctx, "p.2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Note != "assigned" || got.Regarding.Name != "p" || got.DeprecatedCount != 3 || got.DeprecatedSource.Component != "default-scheduler" {
		t.Errorf("events.k8s.io view = %+v", got)
	}
	// events.k8s.io requires the fields of the new API.
	bad := ev.DeepCopy()
	bad.Name, bad.ReportingController = "j.3", ""
	if _, err := c.Client().EventsV1().Events("default").Create(ctx, bad, metav1.CreateOptions{}); err == nil {
		t.Error("events.k8s.io event without reportingController was accepted")
	}
}

func TestEventsExpire(t *testing.T) {
	c := clustertest.Start(t, clustertest.WithEventTTL(2*time.Second))
	ctx := t.Context()
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "short.1"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "p"},
		Reason:         "Testing", Message: "expires", Type: corev1.EventTypeNormal,
	}
	if _, err := c.Client().CoreV1().Events("default").Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cm, err := c.Client().CoreV1().ConfigMaps("default").Create(ctx, configMap("stays", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the event to expire", func() bool {
		_, err := c.Client().CoreV1().Events("default").Get(ctx, "short.1", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	if _, err := c.Client().CoreV1().ConfigMaps("default").Get(ctx, cm.Name, metav1.GetOptions{}); err != nil {
		t.Errorf("a configmap expired with the events: %v", err)
	}
}

// client-go's event recorder, which controllers use, creates events and
// patches their count when they repeat.
func TestClientGoEventRecorder(t *testing.T) {
	c := clustertest.Start(t)
	ctx := t.Context()
	cm, err := c.Client().CoreV1().ConfigMaps("default").Create(ctx, configMap("subject", nil), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	defer broadcaster.Shutdown()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.Client().CoreV1().Events("")})
	scheme, err := registry.NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	recorder := broadcaster.NewRecorder(scheme, corev1.EventSource{Component: "test-controller"})
	for range 3 {
		recorder.Event(cm, corev1.EventTypeWarning, "Repeated", "the same thing happened")
	}
	eventually(t, 15*time.Second, "one event with count 3", func() bool {
		list, err := c.Client().CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=subject,reason=Repeated"})
		return err == nil && len(list.Items) == 1 && list.Items[0].Count == 3 && list.Items[0].Source.Component == "test-controller"
	})
}
