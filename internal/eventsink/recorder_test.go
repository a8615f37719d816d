package eventsink_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/eventsink"
)

// TestRecorder: events reach the API with the source given, and after
// stop nothing more is written.
func TestRecorder(t *testing.T) {
	c := clustertest.Start(t)
	client := c.Client()
	ctx := t.Context()
	cm, err := client.CoreV1().ConfigMaps(metav1.NamespaceDefault).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "about"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec, stop := eventsink.NewRecorder(ctx, client, corev1.EventSource{Component: "tester", Host: "node-1"})
	rec.Event(cm, corev1.EventTypeNormal, "Before", "recorded before stop")

	var events []corev1.Event
	deadline := time.Now().Add(10 * time.Second)
	for len(events) == 0 && time.Now().Before(deadline) {
		list, err := client.CoreV1().Events(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{FieldSelector: "reason=Before"})
		if err != nil {
			t.Fatal(err)
		}
		events = list.Items
		time.Sleep(20 * time.Millisecond)
	}
	if len(events) != 1 || events[0].Source.Component != "tester" || events[0].Source.Host != "node-1" || events[0].InvolvedObject.Name != "about" {
		t.Fatalf("events = %+v, want one from tester on node-1 about configmap about", events)
	}

	stop()
	rec.Event(cm, corev1.EventTypeNormal, "After", "recorded after stop")
	time.Sleep(300 * time.Millisecond) // a write would take a few ms; give a broken stop time to show
	list, err := client.CoreV1().Events(metav1.NamespaceDefault).List(context.Background(), metav1.ListOptions{FieldSelector: "reason=After"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 0 {
		t.Errorf("an event recorded after stop was written: %+v", list.Items)
	}
}
