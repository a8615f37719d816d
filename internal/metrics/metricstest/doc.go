// Package metricstest reads a Prometheus text exposition for tests that
// scrape a real /metrics endpoint and check figures in it.
package metricstest
