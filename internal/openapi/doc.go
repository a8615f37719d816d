// Package openapi builds and serves the OpenAPI documents of the kinds batchd
// serves: /openapi/v2 (Swagger 2.0, as JSON or as gnostic protobuf) and
// /openapi/v3 (the index and one OpenAPI 3.0 document per group version).
// kubectl needs them for apply, create -f, replace, edit and explain, and
// Schemas feeds server-side apply's type converter.
//
// The schemas come from upstream's Go types through kube-openapi's
// openapi-gen (zz_generated.openapi.go; run go generate after changing the
// k8s.io/api version or the package list below), so definition names, field
// descriptions and list/patch extensions are upstream's. scheduling/v1alpha3
// is listed only because batch/v1 JobSpec refers to it. The paths are what
// upstream's API installer publishes for the same resources: operation IDs,
// query parameters, the x-kubernetes-group-version-kind and
// x-kubernetes-action extensions, and the fieldValidation parameter kubectl
// looks for before it leaves validation to the server. The deprecated
// /watch/ paths are left out, as batchd does not serve them.
//
// New builds every document once; ServeHTTP serves them from memory with
// ETags, and gzips a document the first time a client accepts gzip. This
// package does not route requests (the API server hands it every path under
// /openapi/), authenticate them, or decide which resources exist: the caller
// passes the served resources in.
package openapi

//go:generate go tool openapi-gen --output-dir . --output-pkg github.com/batchd/batchd/internal/openapi --output-file zz_generated.openapi.go --report-filename /dev/null k8s.io/api/core/v1 k8s.io/api/batch/v1 k8s.io/api/coordination/v1 k8s.io/api/events/v1 k8s.io/api/policy/v1 k8s.io/api/authentication/v1 k8s.io/api/authorization/v1 k8s.io/api/scheduling/v1alpha3 k8s.io/apimachinery/pkg/apis/meta/v1 k8s.io/apimachinery/pkg/runtime k8s.io/apimachinery/pkg/version k8s.io/apimachinery/pkg/api/resource k8s.io/apimachinery/pkg/util/intstr
