package metrics_test

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// compareFamilies checks the named families g gathers against want, in the
// text exposition format. It does what testutil.GatherAndCompare does; that
// package needs a module (kylelemons/godebug) go.mod does not require yet.
func compareFamilies(t *testing.T, g prometheus.Gatherer, want string, names ...string) {
	t.Helper()
	if diff := diffFamilies(t, g, want, names...); diff != "" {
		t.Errorf("gathered metrics mismatch (-want +got):\n%s", diff)
	}
}

// diffFamilies is compareFamilies' diff, empty when they match.
func diffFamilies(t *testing.T, g prometheus.Gatherer, want string, names ...string) string {
	t.Helper()
	got, err := g.Gather()
	if err != nil {
		t.Fatalf("gathering: %v", err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	wantByName, err := parser.TextToMetricFamilies(strings.NewReader(want))
	if err != nil {
		t.Fatalf("parsing the expected metrics: %v", err)
	}
	var wantMFs []*dto.MetricFamily
	for _, mf := range wantByName {
		wantMFs = append(wantMFs, mf)
	}
	return cmp.Diff(exposition(t, wantMFs, names), exposition(t, got, names))
}

// exposition is the named families as sorted text lines, so that neither
// family nor sample order matters.
func exposition(t *testing.T, mfs []*dto.MetricFamily, names []string) []string {
	t.Helper()
	var buf bytes.Buffer
	for _, mf := range mfs {
		if !slices.Contains(names, mf.GetName()) {
			continue
		}
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			t.Fatalf("encoding %s: %v", mf.GetName(), err)
		}
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	slices.Sort(lines)
	return slices.DeleteFunc(lines, func(l string) bool { return l == "" })
}

// registryWith is a fresh pedantic registry holding cs.
func registryWith(t *testing.T, cs ...prometheus.Collector) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			t.Fatalf("registering %T: %v", c, err)
		}
	}
	return reg
}

func prometheusFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
