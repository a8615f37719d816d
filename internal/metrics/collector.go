package metrics

import (
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// Config says where the Collector reads objects from. Each lister is
// typically a SharedInformerFactory's; a nil lister leaves that kind's
// families out (an agent, say, may only have Pods).
type Config struct {
	Jobs     batchlisters.JobLister
	CronJobs batchlisters.CronJobLister
	Pods     corelisters.PodLister
}

// Collector is a prometheus.Collector that builds the kube-state-metrics
// families (and batchd's scrape-time SLIs) from informer caches on every
// scrape. It keeps no state between scrapes, so there is nothing to expire
// when objects go away.
type Collector struct {
	cfg      Config
	jobs     jobFamilies
	cronJobs cronJobFamilies
	pods     podFamilies
}

var _ prometheus.Collector = (*Collector)(nil)

// New validates cfg and builds a Collector; it starts nothing.
func New(cfg Config) (*Collector, error) {
	if cfg.Jobs == nil && cfg.CronJobs == nil && cfg.Pods == nil {
		return nil, errors.New("metrics: at least one of Jobs, CronJobs and Pods is required")
	}
	return &Collector{
		cfg:      cfg,
		jobs:     newJobFamilies(),
		cronJobs: newCronJobFamilies(),
		pods:     newPodFamilies(),
	}, nil
}

// Describe sends the descriptors of every family the Collector may emit.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	if c.cfg.Jobs != nil {
		c.jobs.describe(ch)
	}
	if c.cfg.CronJobs != nil {
		c.cronJobs.describe(ch)
	}
	if c.cfg.Pods != nil {
		c.pods.describe(ch)
	}
}

// Collect lists every object from the caches and sends its metrics. A
// failed List is reported to the scraper as an invalid metric.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	if c.cfg.Jobs != nil {
		jobs, err := c.cfg.Jobs.List(labels.Everything())
		if err != nil {
			ch <- prometheus.NewInvalidMetric(c.jobs.info.desc, err)
		} else {
			c.jobs.collect(ch, jobs)
		}
	}
	if c.cfg.CronJobs != nil {
		cronJobs, err := c.cfg.CronJobs.List(labels.Everything())
		if err != nil {
			ch <- prometheus.NewInvalidMetric(c.cronJobs.info.desc, err)
		} else {
			c.cronJobs.collect(ch, cronJobs)
		}
	}
	if c.cfg.Pods != nil {
		pods, err := c.cfg.Pods.List(labels.Everything())
		if err != nil {
			ch <- prometheus.NewInvalidMetric(c.pods.info.desc, err)
		} else {
			c.pods.collect(ch, pods)
		}
	}
}

// NewRegistry returns a fresh registry holding the Go runtime and process
// collectors, for batchd's own metrics. It is deliberately not
// prometheus.DefaultRegisterer, where etcd registers its metrics at init.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Handler serves g in the Prometheus exposition formats. It does no
// authentication: mount it behind the API server's authn/authz. To include
// etcd's metrics too, pass prometheus.Gatherers{reg, prometheus.DefaultGatherer}.
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// family is one metric family with a fixed label set; constant-label
// values are given per sample.
type family struct {
	desc *prometheus.Desc
	typ  prometheus.ValueType
}

func newFamily(name, help string, typ prometheus.ValueType, labelNames ...string) family {
	return family{desc: prometheus.NewDesc(name, help, labelNames, nil), typ: typ}
}

func (f family) emit(ch chan<- prometheus.Metric, value float64, labelValues ...string) {
	ch <- prometheus.MustNewConstMetric(f.desc, f.typ, value, labelValues...)
}

func describeAll(ch chan<- *prometheus.Desc, fs ...family) {
	for _, f := range fs {
		ch <- f.desc
	}
}

// Condition label values of the *_complete, *_failed and *_ready families.
const (
	conditionTrue    = "true"
	conditionFalse   = "false"
	conditionUnknown = "unknown"
)

// emitCondition sends the three condition="true|false|unknown" samples of
// one condition, exactly one of them 1 (upstream addConditionMetrics).
func emitCondition(ch chan<- prometheus.Metric, f family, status corev1.ConditionStatus, labelValues ...string) {
	f.emit(ch, boolFloat(status == corev1.ConditionTrue), append(labelValues, conditionTrue)...)
	f.emit(ch, boolFloat(status == corev1.ConditionFalse), append(labelValues, conditionFalse)...)
	f.emit(ch, boolFloat(status == corev1.ConditionUnknown), append(labelValues, conditionUnknown)...)
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
