package loopback

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// fakeAPIServer serves a Pod and a two-event watch of Pods to clients with
// bearer token "t". watchDone is closed when the watch handler returns.
func fakeAPIServer(t *testing.T, watchDone chan<- struct{}) http.Handler {
	pod := func(name string) []byte {
		b, err := json.Marshal(&corev1.Pod{
			TypeMeta:   metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", ResourceVersion: "5"},
		})
		if err != nil {
			t.Errorf("encoding pod: %v", err)
		}
		return b
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer t" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Unauthorized","code":401}`)
			return
		}
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/namespaces/default/pods/x":
			w.Write(pod("x"))
		case r.Method == http.MethodGet && r.URL.Path == "/api/v1/namespaces/default/pods" && r.URL.Query().Get("watch") == "true":
			defer close(watchDone)
			w.WriteHeader(http.StatusOK)
			for _, name := range []string{"a", "b"} {
				fmt.Fprintf(w, `{"type":"ADDED","object":%s}`+"\n", pod(name))
				w.(http.Flusher).Flush()
			}
			<-r.Context().Done() // until the client stops watching
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
		}
	})
}

func TestClientGo(t *testing.T) {
	watchDone := make(chan struct{})
	tr := newTransport(t, fakeAPIServer(t, watchDone))
	newClient := func(token string) *kubernetes.Clientset {
		cs, err := kubernetes.NewForConfig(&rest.Config{Host: "https://loopback.invalid", Transport: tr, BearerToken: token})
		if err != nil {
			t.Fatalf("kubernetes.NewForConfig: %v", err)
		}
		return cs
	}
	ctx := t.Context()

	if _, err := newClient("wrong").CoreV1().Pods("default").Get(ctx, "x", metav1.GetOptions{}); !apierrors.IsUnauthorized(err) {
		t.Errorf("Get with a wrong token: error = %v, want Unauthorized", err)
	}

	pods := newClient("t").CoreV1().Pods("default")
	got, err := pods.Get(ctx, "x", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("Get() error: %v", err)
	}
	if got.Name != "x" || got.Namespace != "default" || got.ResourceVersion != "5" {
		t.Errorf("Get() = %s/%s@%s, want default/x@5", got.Namespace, got.Name, got.ResourceVersion)
	}

	w, err := pods.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("Watch() error: %v", err)
	}
	for _, want := range []string{"a", "b"} {
		ev := recv(t, w.ResultChan(), "watch event "+want)
		p, ok := ev.Object.(*corev1.Pod)
		if ev.Type != watch.Added || !ok || p.Name != want {
			t.Fatalf("watch event = %s %T %v, want ADDED Pod %s", ev.Type, ev.Object, ev.Object, want)
		}
	}
	w.Stop()
	recv(t, watchDone, "the watch handler to return after Stop")
	for ev := range w.ResultChan() {
		t.Errorf("event after Stop: %s", ev.Type)
	}
}
