package namespace

import (
	"context"
	"testing"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// A controller stopped while its caches sync (a server shut down right
// after it became ready) has stopped, not failed. Its informer never
// syncs: its factory is never started, and nothing serves its address.
func TestRunStoppedBeforeTheCachesSync(t *testing.T) {
	cfg := &rest.Config{Host: "http://127.0.0.1:1"}
	client := kubernetes.NewForConfigOrDie(cfg)
	f := informers.NewSharedInformerFactory(client, 0)
	c, err := New(Config{Client: client, Dynamic: dynamic.NewForConfigOrDie(cfg), Namespaces: f.Core().V1().Namespaces()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Run(ctx); err != nil {
		t.Errorf("Run = %v, want nil: a shutdown is not a failure", err)
	}
}
