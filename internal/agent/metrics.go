package agent

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Label values of kubelet_started_containers_total and
// kubelet_started_containers_errors_total, as kubelet's.
const (
	containerTypeInit      = "init_container"
	containerTypeContainer = "container"
)

// metrics are the agent's Prometheus metrics, with kubelet's names,
// labels and buckets where kubelet has the figure, served on the agent's
// endpoint at /metrics.
type metrics struct {
	reg               *prometheus.Registry
	runningPods       prometheus.Gauge
	runningContainers *prometheus.GaugeVec
	startedPods       prometheus.Counter
	startedPodErrors  prometheus.Counter
	startedContainers *prometheus.CounterVec
	startErrors       *prometheus.CounterVec
	podStart          prometheus.Histogram
}

func newMetrics() (*metrics, error) {
	const sub = "kubelet"
	m := &metrics{
		reg: prometheus.NewRegistry(),
		runningPods: prometheus.NewGauge(prometheus.GaugeOpts{Subsystem: sub, Name: "running_pods",
			Help: "Number of pods that have a running pod sandbox"}),
		runningContainers: prometheus.NewGaugeVec(prometheus.GaugeOpts{Subsystem: sub, Name: "running_containers",
			Help: "Number of containers currently running"}, []string{"container_state"}),
		startedPods: prometheus.NewCounter(prometheus.CounterOpts{Subsystem: sub, Name: "started_pods_total",
			Help: "Cumulative number of pods started"}),
		startedPodErrors: prometheus.NewCounter(prometheus.CounterOpts{Subsystem: sub, Name: "started_pods_errors_total",
			Help: "Cumulative number of errors when starting pods"}),
		startedContainers: prometheus.NewCounterVec(prometheus.CounterOpts{Subsystem: sub, Name: "started_containers_total",
			Help: "Cumulative number of containers started"}, []string{"container_type"}),
		startErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Subsystem: sub, Name: "started_containers_errors_total",
			Help: "Cumulative number of errors when starting containers"}, []string{"code", "container_type"}),
		podStart: prometheus.NewHistogram(prometheus.HistogramOpts{Subsystem: sub, Name: "pod_start_duration_seconds",
			Help:    "Duration in seconds from kubelet seeing a pod for the first time to the pod starting to run",
			Buckets: []float64{0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600}}),
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.runningPods, m.runningContainers, m.startedPods, m.startedPodErrors,
		m.startedContainers, m.startErrors, m.podStart,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		errs = append(errs, m.reg.Register(c))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("agent: registering metrics: %w", err)
	}
	return m, nil
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// podStarted records a pod sandbox start, or its failure.
func (m *metrics) podStarted(err error) {
	m.startedPods.Inc()
	if err != nil {
		m.startedPodErrors.Inc()
		return
	}
	m.runningPods.Inc()
}

// podStopped records that a started pod's containers are done: its
// sandbox no longer runs anything (it is removed when the pod is deleted).
func (m *metrics) podStopped() { m.runningPods.Dec() }

// firstContainerRunning records how long after the agent first saw a pod
// its first container began to run.
func (m *metrics) firstContainerRunning(seen time.Time, now time.Time) {
	m.podStart.Observe(max(now.Sub(seen), 0).Seconds())
}

// containerStarted records a container start, or its failure.
func (m *metrics) containerStarted(init bool, err error) {
	typ := containerTypeContainer
	if init {
		typ = containerTypeInit
	}
	m.startedContainers.WithLabelValues(typ).Inc()
	if err != nil {
		m.startErrors.WithLabelValues(startErrorCode(err), typ).Inc()
		return
	}
	m.runningContainers.WithLabelValues("running").Inc()
}

// containerExited records that a running container stopped.
func (m *metrics) containerExited() { m.runningContainers.WithLabelValues("running").Dec() }

// startErrorCode is the code label of a failed start: kubelet uses the
// CRI's gRPC code; the host-process runtime has none, so it is the error's
// kind.
func startErrorCode(err error) string {
	var cfg *configError
	if errors.As(err, &cfg) {
		return "CreateContainerConfigError"
	}
	return "StartError"
}

// configError marks a container that could not be prepared (its env,
// volumes or mounts), as opposed to one the runtime failed to start.
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }
