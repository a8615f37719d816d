package apiserver_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clientfeatures "k8s.io/client-go/features"
	clientfeaturestesting "k8s.io/client-go/features/testing"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/clustertest"
)

func TestPatchTypes(t *testing.T) {
	c := clustertest.Start(t)
	ctx := t.Context()
	cms := c.Client().CoreV1().ConfigMaps("default")
	if _, err := cms.Create(ctx, configMap("p", map[string]string{"keep": "1", "drop": "1"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		typ   types.PatchType
		patch string
		check func(*corev1.ConfigMap) bool
	}{
		{"merge adds and removes labels", types.MergePatchType, `{"metadata":{"labels":{"new":"2","drop":null}}}`,
			func(cm *corev1.ConfigMap) bool {
				return cm.Labels["new"] == "2" && cm.Labels["keep"] == "1" && cm.Labels["drop"] == ""
			}},
		{"json patch replaces data", types.JSONPatchType, `[{"op":"replace","path":"/data/k","value":"json"}]`,
			func(cm *corev1.ConfigMap) bool { return cm.Data["k"] == "json" }},
		{"strategic merges data", types.StrategicMergePatchType, `{"data":{"s":"smp"}}`,
			func(cm *corev1.ConfigMap) bool { return cm.Data["s"] == "smp" && cm.Data["k"] == "json" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cms.Patch(ctx, "p", tt.typ, []byte(tt.patch), metav1.PatchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(got) {
				t.Errorf("patched object %+v does not show the patch", got.ObjectMeta.Labels)
			}
		})
	}

	t.Run("strategic merge by list key", func(t *testing.T) {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pp"}, Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "a", Image: "img:1"}, {Name: "b", Image: "img:1"}}}}
		if _, err := c.Client().CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := c.Client().CoreV1().Pods("default").Patch(ctx, "pp", types.StrategicMergePatchType,
			[]byte(`{"spec":{"containers":[{"name":"b","image":"img:2"}]}}`), metav1.PatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Spec.Containers) != 2 || got.Spec.Containers[0].Image != "img:1" || got.Spec.Containers[1].Image != "img:2" {
			t.Errorf("containers after patch = %+v, want a:img:1 and b:img:2", got.Spec.Containers)
		}
	})
	t.Run("json patch test failure is 422", func(t *testing.T) {
		_, err := cms.Patch(ctx, "p", types.JSONPatchType, []byte(`[{"op":"test","path":"/data/k","value":"nope"}]`), metav1.PatchOptions{})
		if st := statusOf(t, err); st.Code != http.StatusUnprocessableEntity {
			t.Errorf("got %d %s, want 422", st.Code, st.Message)
		}
	})
	t.Run("patch on a missing object is 404", func(t *testing.T) {
		_, err := cms.Patch(ctx, "missing", types.MergePatchType, []byte(`{}`), metav1.PatchOptions{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("got %v, want NotFound", err)
		}
	})
	t.Run("unknown patch type is 415", func(t *testing.T) {
		_, err := cms.Patch(ctx, "p", types.PatchType("application/x-nope"), []byte(`{}`), metav1.PatchOptions{})
		if st := statusOf(t, err); st.Code != http.StatusUnsupportedMediaType {
			t.Errorf("got %d, want 415", st.Code)
		}
	})
	t.Run("status subresource patch", func(t *testing.T) {
		job := simpleJob("sj")
		job.Spec.Parallelism = ptr.To[int32](1)
		if _, err := c.Client().BatchV1().Jobs("default").Create(ctx, job, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := c.Client().BatchV1().Jobs("default").Patch(ctx, "sj", types.MergePatchType,
			[]byte(`{"status":{"active":4},"spec":{"parallelism":7}}`), metav1.PatchOptions{}, "status")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Active != 4 || *got.Spec.Parallelism != 1 {
			t.Errorf("status patch: active %d parallelism %d, want 4 and unchanged", got.Status.Active, *got.Spec.Parallelism)
		}
	})
}

// rawRequest sends body to path with the admin credentials and returns the
// response.
func rawRequest(t *testing.T, c *clustertest.Cluster, method, path, contentType, body string, header http.Header) (*http.Response, string) {
	t.Helper()
	cfg := c.Config()
	transport, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, cfg.Host+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// doAdmin sends req with the admin credentials.
func doAdmin(t *testing.T, c *clustertest.Cluster, req *http.Request) *http.Response {
	t.Helper()
	transport, err := rest.TransportFor(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestFieldValidation(t *testing.T) {
	c := clustertest.Start(t)
	body := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"%s"},"data":{"a":"b"},"bogusField":1}`
	path := "/api/v1/namespaces/default/configmaps"
	tests := []struct {
		name, query string
		wantCode    int
		wantWarning bool
		wantMessage string
	}{
		{"strict refuses unknown fields", "?fieldValidation=Strict", http.StatusBadRequest, false,
			`ConfigMap in version \"v1\" cannot be handled as a ConfigMap: strict decoding error: unknown field \"bogusField\"`},
		{"warn accepts with a warning", "?fieldValidation=Warn", http.StatusCreated, true, ""},
		{"default is warn", "", http.StatusCreated, true, ""},
		{"ignore accepts silently", "?fieldValidation=Ignore", http.StatusCreated, false, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "fv-" + string(rune('a'+i))
			resp, out := rawRequest(t, c, http.MethodPost, path+tt.query, "application/json", strings.Replace(body, "%s", name, 1), nil)
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("code %d (%s), want %d", resp.StatusCode, out, tt.wantCode)
			}
			warning := resp.Header.Get("Warning")
			if got := warning != ""; got != tt.wantWarning {
				t.Errorf("Warning header %q, want present=%v", warning, tt.wantWarning)
			}
			if tt.wantWarning && warning != `299 - "unknown field \"bogusField\""` {
				t.Errorf("Warning = %q", warning)
			}
			if tt.wantMessage != "" && !contains(out, tt.wantMessage) {
				t.Errorf("body %s lacks %s", out, tt.wantMessage)
			}
		})
	}
	t.Run("wrong apiVersion is 400", func(t *testing.T) {
		resp, out := rawRequest(t, c, http.MethodPost, path, "application/json", `{"apiVersion":"batch/v1","kind":"ConfigMap","metadata":{"name":"x"}}`, nil)
		if resp.StatusCode != http.StatusBadRequest || !contains(out, "does not match the expected API version") {
			t.Errorf("got %d %s, want 400 about the API version", resp.StatusCode, out)
		}
	})
	t.Run("unknown body type is 415", func(t *testing.T) {
		resp, _ := rawRequest(t, c, http.MethodPost, path, "text/csv", `a,b`, nil)
		if resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("got %d, want 415", resp.StatusCode)
		}
	})
	t.Run("unknown path is 404 Status", func(t *testing.T) {
		resp, out := rawRequest(t, c, http.MethodGet, "/apis/nope/v1/things", "", "", nil)
		if resp.StatusCode != http.StatusNotFound || !contains(out, `"reason":"NotFound"`) {
			t.Errorf("got %d %s, want a 404 Status", resp.StatusCode, out)
		}
	})
}

func protobufClient(t *testing.T, c *clustertest.Cluster) kubernetes.Interface {
	cfg := c.Config()
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return client
}

func TestProtobufRequestsAndResponses(t *testing.T) {
	c := clustertest.Start(t)
	ctx := t.Context()
	pb := protobufClient(t, c)
	job, err := pb.BatchV1().Jobs("default").Create(ctx, simpleJob("pb"), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("protobuf create: %v", err)
	}
	w, err := pb.BatchV1().Jobs("default").Watch(ctx, metav1.ListOptions{ResourceVersion: job.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	job.Labels = map[string]string{"a": "b"}
	if _, err := pb.BatchV1().Jobs("default").Update(ctx, job, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("protobuf update: %v", err)
	}
	ev := nextEvent(t, w)
	if ev.Type != "MODIFIED" {
		t.Errorf("protobuf watch event %s, want MODIFIED", ev.Type)
	}
	list, err := pb.BatchV1().Jobs("").List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 || list.Items[0].Labels["a"] != "b" {
		t.Errorf("protobuf list = %v, %v", list, err)
	}
	_, err = pb.BatchV1().Jobs("default").Create(ctx, simpleJob("pb"), metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		t.Errorf("protobuf error decoding: %v, want AlreadyExists", err)
	}
}

func TestMetadataClientGetsPartialObjects(t *testing.T) {
	c := clustertest.Start(t)
	ctx := t.Context()
	if _, err := c.Client().CoreV1().ConfigMaps("default").Create(ctx, configMap("m", map[string]string{"x": "y"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mc, err := metadata.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	gvr := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	obj, err := mc.Resource(gvr).Namespace("default").Get(ctx, "m", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if obj.Name != "m" || obj.Labels["x"] != "y" {
		t.Errorf("partial object = %+v", obj.ObjectMeta)
	}
	list, err := mc.Resource(gvr).Namespace("default").List(ctx, metav1.ListOptions{})
	if err != nil || len(list.Items) != 1 {
		t.Errorf("partial list = %v, %v", list, err)
	}
}

func TestDiscovery(t *testing.T) {
	c := clustertest.Start(t)
	for _, v := range []string{"v2", "v2beta1"} {
		t.Run("aggregated "+v, func(t *testing.T) {
			accept := "application/json;g=apidiscovery.k8s.io;v=" + v + ";as=APIGroupDiscoveryList,application/json"
			resp, body := rawRequest(t, c, http.MethodGet, "/apis", "", "", http.Header{"Accept": {accept}})
			if want := "application/json;g=apidiscovery.k8s.io;v=" + v + ";as=APIGroupDiscoveryList"; resp.Header.Get("Content-Type") != want {
				t.Fatalf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), want)
			}
			var list apidiscoveryv2.APIGroupDiscoveryList
			if err := json.Unmarshal([]byte(body), &list); err != nil {
				t.Fatal(err)
			}
			var batch *apidiscoveryv2.APIResourceDiscovery
			for _, g := range list.Items {
				for _, r := range g.Versions[0].Resources {
					if g.Name == "batch" && r.Resource == "cronjobs" {
						batch = &r
					}
				}
			}
			if batch == nil || !slices.Equal(batch.ShortNames, []string{"cj"}) || !slices.Equal(batch.Categories, []string{"all"}) ||
				batch.SingularResource != "cronjob" || batch.Scope != apidiscoveryv2.ScopeNamespace || len(batch.Subresources) != 1 {
				t.Errorf("cronjobs discovery = %+v", batch)
			}
		})
	}
	t.Run("legacy through client-go", func(t *testing.T) {
		resources, err := c.Client().Discovery().ServerResourcesForGroupVersion("v1")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range resources.APIResources {
			got = append(got, r.Name)
		}
		for _, want := range []string{"pods", "pods/status", "namespaces", "namespaces/finalize", "configmaps", "events", "nodes/status"} {
			if !slices.Contains(got, want) {
				t.Errorf("v1 resources %v lack %s", got, want)
			}
		}
		v, err := c.Client().Discovery().ServerVersion()
		if err != nil || v.Major != "1" || v.Minor != "33" {
			t.Errorf("server version %+v, %v; want 1.33", v, err)
		}
	})
}

// TestInformerSyncs runs a client-go informer on configmaps with the
// WatchList protocol on (client-go's default since 0.35) and off.
func TestInformerSyncs(t *testing.T) {
	for _, watchList := range []bool{true, false} {
		name := "watchlist off"
		if watchList {
			name = "watchlist on"
		}
		t.Run(name, func(t *testing.T) {
			clientfeaturestesting.SetFeatureDuringTest(t, clientfeatures.WatchListClient, watchList)
			c := clustertest.Start(t)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			cms := c.Client().CoreV1().ConfigMaps("default")
			if _, err := cms.Create(ctx, configMap("before", nil), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			factory := informers.NewSharedInformerFactoryWithOptions(c.Client(), 0, informers.WithNamespace("default"))
			inf := factory.Core().V1().ConfigMaps()
			var mu sync.Mutex
			seen := map[string]string{}
			if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
				AddFunc: func(obj any) {
					mu.Lock()
					defer mu.Unlock()
					seen[obj.(*corev1.ConfigMap).Name] = "added"
				},
				UpdateFunc: func(_, obj any) {
					mu.Lock()
					defer mu.Unlock()
					seen[obj.(*corev1.ConfigMap).Name] = "updated"
				},
				DeleteFunc: func(obj any) {
					if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
						obj = d.Obj
					}
					mu.Lock()
					defer mu.Unlock()
					seen[obj.(*corev1.ConfigMap).Name] = "deleted"
				},
			}); err != nil {
				t.Fatal(err)
			}
			factory.Start(ctx.Done())
			defer func() {
				cancel() // informers stop on ctx; Shutdown waits for them
				factory.Shutdown()
			}()
			syncCtx, done := context.WithTimeout(ctx, 20*time.Second)
			defer done()
			if !cache.WaitForCacheSync(syncCtx.Done(), inf.Informer().HasSynced) {
				t.Fatal("informer did not sync")
			}
			if _, err := inf.Lister().ConfigMaps("default").Get("before"); err != nil {
				t.Errorf("synced cache lacks the existing object: %v", err)
			}
			after, err := cms.Create(ctx, configMap("after", nil), metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			after.Data["k"] = "2"
			if _, err := cms.Update(ctx, after, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := cms.Delete(ctx, "before", metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			eventually(t, 10*time.Second, "the informer to see later changes", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return seen["after"] == "updated" && seen["before"] == "deleted"
			})
		})
	}
}
