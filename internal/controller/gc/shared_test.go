package gc_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"

	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/controller/gc"
)

// stopAfterDiscovery is discovery that ends the collector's context, and
// waits for the shared informer to stop, right after answering: the
// process stopping while the collector starts.
type stopAfterDiscovery struct {
	discovery.DiscoveryInterface
	stop     context.CancelFunc
	informer cache.SharedIndexInformer
}

func (d stopAfterDiscovery) ServerGroupsAndResources() ([]*metav1.APIGroup, []*metav1.APIResourceList, error) {
	groups, lists, err := d.DiscoveryInterface.ServerGroupsAndResources()
	d.stop()
	for deadline := time.Now().Add(timeout); !d.informer.IsStopped() && time.Now().Before(deadline); {
		time.Sleep(poll)
	}
	return groups, lists, err
}

// TestStopWhileStartingOnSharedInformers: a collector on shared informers
// that are stopped, because the process is stopping, has stopped, not
// failed: Run returns nil, as every controller stopped before its caches
// synced does (batchd reported a failed stop: "handler ... was not added
// to shared informer because it has stopped already", seen when a server
// stopped right after starting).
func TestStopWhileStartingOnSharedInformers(t *testing.T) {
	cfg := clustertest.Start(t).Config()
	cfg.QPS = -1
	client := kubernetes.NewForConfigOrDie(cfg)
	md := metadata.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	factory := informers.NewSharedInformerFactory(client, 0)
	pods := factory.Core().V1().Pods().Informer()
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	c, err := gc.New(gc.Config{
		Metadata:  md,
		Discovery: stopAfterDiscovery{client.Discovery(), cancel, pods},
		Shared:    map[schema.GroupVersionResource]cache.SharedIndexInformer{corev1.SchemeGroupVersion.WithResource("pods"): pods},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Run(ctx); err != nil {
		t.Errorf("Run stopped during its start = %v, want nil: a shutdown is not a failure", err)
	}
}
