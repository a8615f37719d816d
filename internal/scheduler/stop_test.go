package scheduler

import (
	"context"
	"testing"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// A scheduler stopped while its caches sync (a server shut down right
// after it became ready) has stopped, not failed. Its informers never
// sync: their factory is never started, and nothing serves their address.
func TestRunStoppedBeforeTheCachesSync(t *testing.T) {
	client := kubernetes.NewForConfigOrDie(&rest.Config{Host: "http://127.0.0.1:1"})
	f := informers.NewSharedInformerFactory(client, 0)
	s, err := New(Config{Client: client, Pods: f.Core().V1().Pods(), Nodes: f.Core().V1().Nodes()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Run(ctx); err != nil {
		t.Errorf("Run = %v, want nil: a shutdown is not a failure", err)
	}
}
