package metricstest

import (
	"bytes"
	"fmt"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Families are the metric families of one scrape, by name.
type Families map[string]*dto.MetricFamily

// Parse reads a scrape in the text format.
func Parse(text []byte) (Families, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("parsing metrics: %w", err)
	}
	return fams, nil
}

// Value returns the value of the first sample of family name whose labels
// include every "key=value" of labels, and whether there is one. A
// histogram's value is its sample count.
func (f Families) Value(name string, labels ...string) (float64, bool) {
	m := f.Sample(name, labels...)
	switch {
	case m == nil:
		return 0, false
	case m.Gauge != nil:
		return m.GetGauge().GetValue(), true
	case m.Counter != nil:
		return m.GetCounter().GetValue(), true
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount()), true
	}
	return 0, false
}

// Sample returns the first sample of family name whose labels include
// every "key=value" of labels, or nil.
func (f Families) Sample(name string, labels ...string) *dto.Metric {
	fam, ok := f[name]
	if !ok {
		return nil
	}
	for _, m := range fam.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for _, kv := range labels {
			k, v, _ := strings.Cut(kv, "=")
			if got, ok := have[k]; !ok && v != "" || got != v {
				match = false
			}
		}
		if match {
			return m
		}
	}
	return nil
}
