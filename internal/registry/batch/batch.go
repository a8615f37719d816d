package batch

import "github.com/batchd/batchd/internal/registry"

// Resources returns the batch/v1 resources batchd serves.
func Resources() []*registry.Resource {
	return []*registry.Resource{jobResource(), cronJobResource()}
}
