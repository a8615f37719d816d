package core

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/batchd/batchd/internal/registry"
)

// Resources returns the core/v1 resources batchd serves.
func Resources() []*registry.Resource {
	return []*registry.Resource{
		namespaceResource(),
		podResource(),
		configMapResource(),
		secretResource(),
		serviceAccountResource(),
		eventResource(),
		nodeResource(),
	}
}

var groupVersion = corev1.SchemeGroupVersion
