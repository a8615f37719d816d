// Package metrics owns batchd's Prometheus metrics: the kube-state-metrics
// families for Jobs, CronJobs and Pods (same names, labels, types and
// semantics as upstream kube-state-metrics), computed at scrape time from
// client-go informer listers by Collector; the API server's request metrics
// (apiserver_request_total, apiserver_request_duration_seconds) as an HTTP
// middleware, RequestMetrics; the scrape-time SLI
// batchd_job_success_duration_seconds; and Handler, which serves a Gatherer
// on /metrics.
//
// Everything goes into a registry the caller creates (NewRegistry), never
// prometheus.DefaultRegisterer: etcd registers its own metrics there at init.
// The package does not mount anything on a mux, authenticate scrapes, or run
// informers; the control plane and the API server own those. Metrics
// recorded inside controllers (job_controller_*) belong to the controllers.
package metrics
