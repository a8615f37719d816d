package serviceaccount

import (
	"context"
	"testing"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// A controller stopped while its caches sync (a server shut down right
// after it became ready) has stopped, not failed. Its informers never
// sync: their factory is never started, and nothing serves their address.
func TestRunStoppedBeforeTheCachesSync(t *testing.T) {
	client := kubernetes.NewForConfigOrDie(&rest.Config{Host: "http://127.0.0.1:1"})
	f := informers.NewSharedInformerFactory(client, 0)
	c, err := New(Config{Client: client, Namespaces: f.Core().V1().Namespaces(), ServiceAccounts: f.Core().V1().ServiceAccounts()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Run(ctx); err != nil {
		t.Errorf("Run = %v, want nil: a shutdown is not a failure", err)
	}
}
