package metricstest_test

import (
	"testing"

	"github.com/batchd/batchd/internal/metrics/metricstest"
)

func TestValue(t *testing.T) {
	fams, err := metricstest.Parse([]byte(`# TYPE up gauge
up{job="a",reason=""} 1
up{job="b"} 0
# TYPE reqs_total counter
reqs_total{code="200"} 7
# TYPE lat histogram
lat_bucket{le="1"} 2
lat_bucket{le="+Inf"} 3
lat_sum 2.5
lat_count 3
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		labels []string
		want   float64
		ok     bool
	}{
		{"up", []string{"job=a"}, 1, true},
		{"up", []string{"job=b"}, 0, true},
		{"up", []string{"job=b", "reason="}, 0, true}, // an empty label is an absent one
		{"up", []string{"job=c"}, 0, false},
		{"reqs_total", []string{"code=200"}, 7, true},
		{"lat", nil, 3, true},
		{"missing", nil, 0, false},
	}
	for _, tt := range tests {
		got, ok := fams.Value(tt.name, tt.labels...)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Value(%s, %v) = %v, %v; want %v, %v", tt.name, tt.labels, got, ok, tt.want, tt.ok)
		}
	}
}
