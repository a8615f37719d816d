package controlplane

import (
	"fmt"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"

	"github.com/batchd/batchd/internal/registry"
	"github.com/batchd/batchd/internal/registry/batch"
	"github.com/batchd/batchd/internal/registry/coordination"
	"github.com/batchd/batchd/internal/registry/core"
	"github.com/batchd/batchd/internal/registry/events"
	"github.com/batchd/batchd/internal/storage"
)

// storageRoot is the etcd key prefix of every object, upstream's, so tools
// such as auger and etcdctl find keys where they expect them.
const storageRoot = "/registry/"

type builtStores struct {
	scheme *runtime.Scheme
	list   []*registry.Store
	// storage holds the stores under list, whose watch caches Run runs.
	storage []*storage.Store
}

// buildStores builds a registry store per served resource, all sharing one
// etcd client and encoding objects as protobuf.
func buildStores(client *clientv3.Client, eventTTL time.Duration, log *slog.Logger) (*builtStores, error) {
	scheme, err := registry.NewScheme()
	if err != nil {
		return nil, err
	}
	codecs := serializer.NewCodecFactory(scheme)
	proto := protobuf.NewSerializer(scheme, scheme)

	var resources []*registry.Resource
	resources = append(resources, core.Resources()...)
	resources = append(resources, batch.Resources()...)
	resources = append(resources, coordination.Resources()...)
	resources = append(resources, events.Resource())

	out := &builtStores{scheme: scheme}
	var namespaces *registry.Store
	lifecycle := &core.NamespaceLifecycle{}
	for _, res := range resources {
		codec := codecs.CodecForVersions(proto, proto, res.GroupVersion, res.GroupVersion)
		if res.GroupVersion == eventsv1.SchemeGroupVersion {
			codec = events.StorageCodec(codecs.CodecForVersions(proto, proto, corev1.SchemeGroupVersion, corev1.SchemeGroupVersion))
		}
		var ttl time.Duration
		if res.Name == "events" {
			ttl = eventTTL
		}
		var deflt func(runtime.Object)
		if d, ok := res.Strategy.(interface{ Default(runtime.Object) }); ok {
			deflt = d.Default
		}
		st, err := storage.New(storage.Config{
			Client:  client,
			Codec:   codec,
			Prefix:  storageRoot + storagePrefix(res) + "/",
			NewFunc: res.NewFunc,
			TTL:     ttl,
			Default: deflt,
		})
		if err != nil {
			return nil, fmt.Errorf("storage for %s: %w", res.GroupResource(), err)
		}
		out.storage = append(out.storage, st)
		var checker registry.NamespaceChecker
		if res.Namespaced {
			checker = lifecycle
		}
		rs, err := registry.NewStore(registry.Config{Resource: res, Storage: st, Namespaces: checker, Log: log})
		if err != nil {
			return nil, err
		}
		if res.GroupVersion.Group == "" && res.Name == "namespaces" {
			namespaces = rs
		}
		out.list = append(out.list, rs)
	}
	if namespaces == nil {
		return nil, fmt.Errorf("no namespaces resource registered")
	}
	lifecycle.Namespaces = namespaces
	return out, nil
}

// storagePrefix is the key segment of a resource: upstream uses the bare
// resource name for core and most groups ("pods", "jobs", "leases").
func storagePrefix(res *registry.Resource) string {
	if res.Name == "events" && res.GroupVersion.Group != "" {
		return "events" // events.k8s.io shares core events' keys
	}
	return res.Name
}
