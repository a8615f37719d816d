package apiserver_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/batchd/batchd/internal/clustertest"
)

// kubectlTableAccept is what kubectl get sends.
const kubectlTableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"

func columnNames(t metav1.Table) []string {
	var out []string
	for _, c := range t.ColumnDefinitions {
		out = append(out, c.Name)
	}
	return out
}

func TestTables(t *testing.T) {
	c := clustertest.Start(t)
	ctx := t.Context()
	if _, err := c.Client().BatchV1().Jobs("default").Create(ctx, simpleJob("tj"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client().CoreV1().ConfigMaps("default").Create(ctx, configMap("tc", map[string]string{"x": "y"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	accept := http.Header{"Accept": {kubectlTableAccept}}
	tests := []struct {
		name, path string
		columns    []string
		firstRow   []any
	}{
		{"jobs", "/apis/batch/v1/namespaces/default/jobs", []string{"Name", "Status", "Completions", "Duration", "Age", "Containers", "Images", "Selector"},
			[]any{"tj", "Running", "0/1"}},
		{"one job", "/apis/batch/v1/namespaces/default/jobs/tj", []string{"Name", "Status", "Completions", "Duration", "Age", "Containers", "Images", "Selector"},
			[]any{"tj"}},
		{"configmaps across namespaces", "/api/v1/configmaps?labelSelector=x", []string{"Name", "Data", "Age"}, []any{"tc", float64(1)}},
		{"namespaces", "/api/v1/namespaces", []string{"Name", "Status", "Age"}, []any{"default", "Active"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := rawRequest(t, c, http.MethodGet, tt.path, "", "", accept)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var table metav1.Table
			if err := json.Unmarshal([]byte(body), &table); err != nil {
				t.Fatal(err)
			}
			if table.Kind != "Table" || table.APIVersion != "meta.k8s.io/v1" || table.ResourceVersion == "" {
				t.Errorf("kind %q apiVersion %q resourceVersion %q, want a meta.k8s.io/v1 Table with a resourceVersion", table.Kind, table.APIVersion, table.ResourceVersion)
			}
			if got := columnNames(table); !slices.Equal(got, tt.columns) {
				t.Errorf("columns = %v, want %v", got, tt.columns)
			}
			if len(table.Rows) == 0 {
				t.Fatal("no rows")
			}
			row := table.Rows[0]
			for i, want := range tt.firstRow {
				if row.Cells[i] != want {
					t.Errorf("cell %d = %#v, want %#v", i, row.Cells[i], want)
				}
			}
			// Rows carry metadata, for -A's NAMESPACE and --show-labels.
			var partial metav1.PartialObjectMetadata
			if err := json.Unmarshal(row.Object.Raw, &partial); err != nil || partial.Kind != "PartialObjectMetadata" || partial.Name == "" {
				t.Errorf("row object = %s (%v), want PartialObjectMetadata with a name", row.Object.Raw, err)
			}
		})
	}
	t.Run("includeObject=Object", func(t *testing.T) {
		_, body := rawRequest(t, c, http.MethodGet, "/api/v1/namespaces/default/configmaps?includeObject=Object", "", "", accept)
		if !strings.Contains(body, `"kind":"ConfigMap"`) || !strings.Contains(body, `"data":{"k":"v"}`) {
			t.Errorf("rows do not carry the full object: %s", body)
		}
	})
	t.Run("watch sends headers once", func(t *testing.T) {
		list, err := c.Client().CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cfg := c.Config()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet,
			cfg.Host+"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion="+list.ResourceVersion, nil)
		req.Header.Set("Accept", kubectlTableAccept)
		resp := doAdmin(t, c, req)
		defer resp.Body.Close()
		for _, n := range []string{"w1", "w2"} {
			if _, err := c.Client().CoreV1().ConfigMaps("default").Create(ctx, configMap(n, nil), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		lines := bufio.NewScanner(resp.Body)
		var headers []int
		for i := 0; i < 2 && lines.Scan(); i++ {
			var ev struct {
				Type   string
				Object metav1.Table
			}
			if err := json.Unmarshal(lines.Bytes(), &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Type != "ADDED" || len(ev.Object.Rows) != 1 {
				t.Errorf("event %d = %s with %d rows, want ADDED with one row", i, ev.Type, len(ev.Object.Rows))
			}
			headers = append(headers, len(ev.Object.ColumnDefinitions))
		}
		if len(headers) != 2 || headers[0] == 0 || headers[1] != 0 {
			t.Errorf("column definitions per event = %v, want them in the first only", headers)
		}
	})
}
