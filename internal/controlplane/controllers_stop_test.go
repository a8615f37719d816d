package controlplane_test

import (
	"context"
	"testing"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/batchd/batchd/internal/controller/namespace"
	"github.com/batchd/batchd/internal/controller/serviceaccount"
	"github.com/batchd/batchd/internal/scheduler"
)

// TestControllersStopBeforeTheirCachesSync: a controller stopped while
// its caches sync (a server shut down right after it became ready) has
// stopped, not failed: its Run returns nil. Their informers never sync
// here: the factory is never started, and nothing serves its address.
// The Job, CronJob and TTL controllers share controller.RunWorkers,
// tested on its own.
func TestControllersStopBeforeTheirCachesSync(t *testing.T) {
	cfg := &rest.Config{Host: "http://127.0.0.1:1"}
	client := kubernetes.NewForConfigOrDie(cfg)
	for _, tc := range []struct {
		name string
		run  func(f informers.SharedInformerFactory) (func(context.Context) error, error)
	}{
		{"serviceaccount", func(f informers.SharedInformerFactory) (func(context.Context) error, error) {
			c, err := serviceaccount.New(serviceaccount.Config{Client: client, Namespaces: f.Core().V1().Namespaces(), ServiceAccounts: f.Core().V1().ServiceAccounts()})
			if err != nil {
				return nil, err
			}
			return c.Run, nil
		}},
		{"namespace", func(f informers.SharedInformerFactory) (func(context.Context) error, error) {
			c, err := namespace.New(namespace.Config{Client: client, Dynamic: dynamic.NewForConfigOrDie(cfg), Namespaces: f.Core().V1().Namespaces()})
			if err != nil {
				return nil, err
			}
			return c.Run, nil
		}},
		{"scheduler", func(f informers.SharedInformerFactory) (func(context.Context) error, error) {
			s, err := scheduler.New(scheduler.Config{Client: client, Pods: f.Core().V1().Pods(), Nodes: f.Core().V1().Nodes()})
			if err != nil {
				return nil, err
			}
			return s.Run, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run, err := tc.run(informers.NewSharedInformerFactory(client, 0))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			if err := run(ctx); err != nil {
				t.Errorf("Run = %v, want nil: a shutdown is not a failure", err)
			}
		})
	}
}
