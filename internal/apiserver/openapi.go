package apiserver

import (
	"fmt"

	"github.com/batchd/batchd/internal/openapi"
)

// openAPIResources describes the served resources for the OpenAPI
// documents, from the same table discovery uses.
func openAPIResources(resources []served, returnsObject map[string]bool) []openapi.Resource {
	out := make([]openapi.Resource, 0, len(resources))
	for _, r := range resources {
		if r.gv.Version != "v1" {
			continue // only v1 definitions are generated (v1beta1 whoami for kubectl 1.27)
		}
		res := openapi.Resource{
			GroupVersion:        r.gv,
			Resource:            r.name,
			Kind:                r.kind,
			Namespaced:          r.namespaced,
			Verbs:               r.verbs,
			ReturnDeletedObject: returnsObject[r.gv.WithResource(r.name).String()],
		}
		for _, sub := range r.subresources {
			res.Subresources = append(res.Subresources, sub.name)
		}
		out = append(out, res)
	}
	return out
}

func buildOpenAPI(resources []served, returnsObject map[string]bool) (*openapi.Documents, error) {
	docs, err := openapi.New(openAPIResources(resources, returnsObject))
	if err != nil {
		return nil, fmt.Errorf("building OpenAPI documents: %w", err)
	}
	return docs, nil
}
