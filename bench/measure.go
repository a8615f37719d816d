package main

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// contentType is a wire format a client asks for and sends.
type contentType struct {
	name string // as in the table and the -content-types flag
	mime string
}

var (
	ctJSON     = contentType{name: "json", mime: "application/json"}
	ctProtobuf = contentType{name: "protobuf", mime: "application/vnd.kubernetes.protobuf"}

	contentTypes = map[string]contentType{ctJSON.name: ctJSON, ctProtobuf.name: ctProtobuf}
)

// connections owns the HTTP clients of one run, so that their connections
// (and the goroutines reading them) end with the run.
type connections struct {
	mu      sync.Mutex
	clients []*http.Client
}

// newClient returns a clientset with its own HTTP transport, hence its own
// TLS connection (HTTP/2): a config with Dial set is never shared through
// client-go's global transport cache.
func (c *connections) newClient(base *rest.Config, ct contentType) (kubernetes.Interface, error) {
	cfg := rest.CopyConfig(base)
	cfg.ContentType = ct.mime
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	cfg.Dial = dialer.DialContext
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("building HTTP client: %w", err)
	}
	cs, err := kubernetes.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("building clientset: %w", err)
	}
	c.mu.Lock()
	c.clients = append(c.clients, hc)
	c.mu.Unlock()
	return cs, nil
}

// close closes every connection; call it once no request is in flight.
func (c *connections) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, hc := range c.clients {
		hc.CloseIdleConnections()
	}
	c.clients = nil
}

// writers returns n clients for ns (n distinct clientsets with
// -conn-per-client, else one clientset n times), creates ns and sends one
// untimed request on each connection so TLS set-up is not measured.
func (b *apiBench) writers(ctx context.Context, conns *connections, ct contentType, n int, ns string) ([]kubernetes.Interface, error) {
	distinct := 1
	if b.flags.connPerClient {
		distinct = n
	}
	out := make([]kubernetes.Interface, 0, n)
	for range distinct {
		cs, err := conns.newClient(b.base, ct)
		if err != nil {
			return nil, err
		}
		out = append(out, cs)
	}
	if _, err := out[0].CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating namespace %s: %w", ns, err)
	}
	for _, cs := range out {
		if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
			return nil, fmt.Errorf("warming up a client: %w", err)
		}
	}
	for len(out) < n {
		out = append(out, out[0])
	}
	return out, nil
}

// payload is the data of every ConfigMap written: about 100 bytes, a small
// object like most a batch system stores.
var payload = strings.Repeat("0123456789", 10)

const objectPrefix = "cm-"

func configMap(i int) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: objectPrefix + strconv.Itoa(i)},
		Data:       map[string]string{"payload": payload},
	}
}

// objectIndex returns i for the name configMap(i) gave, or false.
func objectIndex(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, objectPrefix)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	return i, err == nil
}

// createLoad creates n ConfigMaps in ns, spread over one goroutine per
// client, each sending its next create as soon as the last one returns. It
// returns the wall time and the latency of each create. onSend, if not nil,
// is called with the time taken just before each Create call.
func createLoad(ctx context.Context, clients []kubernetes.Interface, ns string, n int, onSend func(i int, t time.Time)) (time.Duration, []time.Duration, error) {
	var next atomic.Int64
	lats := make([]time.Duration, n)
	g, gctx := errgroup.WithContext(ctx)
	start := time.Now()
	for _, cs := range clients {
		g.Go(func() error {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return nil
				}
				cm := configMap(i)
				t0 := time.Now()
				if onSend != nil {
					onSend(i, t0)
				}
				if _, err := cs.CoreV1().ConfigMaps(ns).Create(gctx, cm, metav1.CreateOptions{}); err != nil {
					return fmt.Errorf("creating configmap %s/%s: %w", ns, cm.Name, err)
				}
				lats[i] = time.Since(t0)
			}
		})
	}
	err := g.Wait()
	return time.Since(start), lats, err
}

// createRun measures figure 1: creates/s and per-create latency.
func (b *apiBench) createRun(ctx context.Context, run int, ct contentType, n int) error {
	conns := &connections{}
	defer conns.close()
	ns := fmt.Sprintf("create-%s-c%d-r%d", ct.name, n, run)
	clients, err := b.writers(ctx, conns, ct, n, ns)
	if err != nil {
		return err
	}
	count := createsFor(n, b.flags.serialCreates, b.flags.creates)
	elapsed, lats, err := createLoad(ctx, clients, ns, count, nil)
	if err != nil {
		return err
	}
	rate := float64(count) / elapsed.Seconds()
	p50, p99 := percentile(lats, 50), percentile(lats, 99)
	b.report.add(figCreateRate, n, ct, rate)
	b.report.add(figCreateP50, n, ct, ms(p50))
	b.report.add(figCreateP99, n, ct, ms(p99))
	b.logf("run %d create  %-8s clients=%-3d %5d in %6.2fs: %6.0f/s p50 %.2f ms p99 %.2f ms",
		run, ct.name, n, count, elapsed.Seconds(), rate, ms(p50), ms(p99))
	return nil
}

// watchDrain is how long a watch run waits for the events still due once
// every write has returned.
const watchDrain = 30 * time.Second

// watchRun measures figure 2: the latency of watch events while n writers
// create objects as fast as they can. The watcher has its own connection,
// as a controller in another process would.
func (b *apiBench) watchRun(ctx context.Context, run int, ct contentType, n int) error {
	conns := &connections{}
	defer conns.close()
	ns := fmt.Sprintf("watch-%s-c%d-r%d", ct.name, n, run)
	clients, err := b.writers(ctx, conns, ct, n, ns)
	if err != nil {
		return err
	}
	watcher, err := conns.newClient(b.base, ct)
	if err != nil {
		return err
	}
	list, err := watcher.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing configmaps in %s: %w", ns, err)
	}
	wctx, cancelWatch := context.WithCancel(ctx)
	defer cancelWatch()
	timeout := max(1, int64(b.flags.timeout/time.Second)) // the server ends the watch at the latest then
	w, err := watcher.CoreV1().ConfigMaps(ns).Watch(wctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion, TimeoutSeconds: &timeout})
	if err != nil {
		return fmt.Errorf("watching configmaps in %s: %w", ns, err)
	}
	defer w.Stop()
	first, err := awaitSentinel(ctx, watcher, w, ns)
	if err != nil {
		return err
	}
	b.report.add(figWatchFirst, n, ct, ms(first))

	count := createsFor(n, b.flags.serialWatch, b.flags.watchEvents)
	sent := make([]atomic.Int64, count) // since base, +1 so that 0 means "not sent"
	base := time.Now()
	type collected struct {
		arrived []time.Duration // since base, by object index
		err     error
	}
	got := make(chan collected, 1)
	go func() {
		arrived, err := collect(wctx, w, sent, base)
		got <- collected{arrived, err}
	}()
	elapsed, createLats, err := createLoad(ctx, clients, ns, count, func(i int, t time.Time) { sent[i].Store(int64(t.Sub(base)) + 1) })
	if err != nil {
		cancelWatch()
		<-got
		return err
	}
	var res collected
	select {
	case res = <-got:
	case <-time.After(watchDrain):
		cancelWatch()
		res = <-got
	}
	if res.err != nil {
		return res.err
	}
	fromSend := make([]time.Duration, count)
	afterReturn := make([]time.Duration, count)
	for i, arrived := range res.arrived {
		sentAt := time.Duration(sent[i].Load() - 1)
		fromSend[i] = arrived - sentAt
		afterReturn[i] = max(0, arrived-sentAt-createLats[i]) // 0: the event beat the response
	}
	rate := float64(count) / elapsed.Seconds()
	p50, p99 := percentile(fromSend, 50), percentile(fromSend, 99)
	afterP99 := percentile(afterReturn, 99)
	b.report.add(figWatchP50, n, ct, ms(p50))
	b.report.add(figWatchP99, n, ct, ms(p99))
	b.report.add(figWatchAfterP99, n, ct, ms(afterP99))
	b.report.add(figWatchCreateP99, n, ct, ms(percentile(createLats, 99)))
	b.report.add(figWatchWrites, n, ct, rate)
	b.logf("run %d watch   %-8s writers=%-3d %5d events, writes %6.0f/s: p50 %.2f ms p99 %.2f ms, after return p99 %.2f ms; first event %.1f ms",
		run, ct.name, n, count, rate, ms(p50), ms(p99), ms(afterP99), ms(first))
	return nil
}

// sentinelName is the object a watch run creates, untimed, before its
// writers start; objectIndex does not match it.
const sentinelName = "sentinel"

// awaitSentinel creates one object through the watcher's own client and
// waits for its event, so that the measured events flow through a watch
// that has caught up. It returns the time from the Create call to the
// event: the first event of a watch that etcd had to catch up (its start
// revision was already behind etcd's head, as any write elsewhere makes
// it) waits for etcd's unsynced-watcher loop, which runs every 100 ms.
func awaitSentinel(ctx context.Context, cs kubernetes.Interface, w watch.Interface, ns string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, watchDrain)
	defer cancel()
	start := time.Now()
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: sentinelName}}, metav1.CreateOptions{}); err != nil {
		return 0, fmt.Errorf("creating configmap %s/%s: %w", ns, sentinelName, err)
	}
	for {
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("watch: waiting for the event of %s/%s: %w", ns, sentinelName, ctx.Err())
		case ev, ok := <-w.ResultChan():
			if !ok {
				return 0, fmt.Errorf("watch ended before the event of %s/%s", ns, sentinelName)
			}
			if ev.Type == watch.Error {
				return 0, fmt.Errorf("watch: %w", apierrors.FromObject(ev.Object))
			}
			if cm, ok := ev.Object.(*corev1.ConfigMap); ok && ev.Type == watch.Added && cm.Name == sentinelName {
				return time.Since(start), nil
			}
		}
	}
}

// collect receives the ADDED events of the objects in sent until it has
// all of them, and returns when each arrived (since base), by object index.
func collect(ctx context.Context, w watch.Interface, sent []atomic.Int64, base time.Time) ([]time.Duration, error) {
	n := len(sent)
	arrivals := make([]time.Duration, n)
	for got := 0; got < n; {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("watch: %d of %d events arrived: %w", got, n, ctx.Err())
		case ev, ok := <-w.ResultChan():
			arrived := time.Since(base)
			if !ok {
				return nil, fmt.Errorf("watch ended after %d of %d events", got, n)
			}
			switch ev.Type {
			case watch.Error:
				return nil, fmt.Errorf("watch: %w", apierrors.FromObject(ev.Object))
			case watch.Added:
			default:
				continue
			}
			cm, ok := ev.Object.(*corev1.ConfigMap)
			if !ok {
				return nil, fmt.Errorf("watch: got a %T, want a ConfigMap", ev.Object)
			}
			i, ok := objectIndex(cm.Name)
			if !ok || i >= n || arrivals[i] != 0 {
				continue // not one of ours, or a duplicate
			}
			if sent[i].Load() == 0 {
				return nil, fmt.Errorf("watch: event for %s arrived before its create was sent", cm.Name)
			}
			arrivals[i] = arrived
			got++
		}
	}
	return arrivals, nil
}

// listWriters is how many clients fill the namespace the list figure reads.
const listWriters = 32

// listRuns measures figure 3: the time of one full (unpaged) list of
// -list ConfigMaps, as client-go's typed List does it, decoding included.
func (b *apiBench) listRuns(ctx context.Context) error {
	conns := &connections{}
	defer conns.close()
	const ns = "list"
	want := b.flags.listObjects
	clients, err := b.writers(ctx, conns, ctProtobuf, listWriters, ns)
	if err != nil {
		return err
	}
	elapsed, _, err := createLoad(ctx, clients, ns, want, nil)
	if err != nil {
		return err
	}
	b.logf("list: created %d configmaps in %.1fs", want, elapsed.Seconds())

	listers := make(map[contentType]kubernetes.Interface)
	for _, ct := range b.flags.contentTypes {
		cs, err := conns.newClient(b.base, ct)
		if err != nil {
			return err
		}
		listers[ct] = cs
		// Untimed: warms the connection and gives the response size.
		raw, err := cs.CoreV1().RESTClient().Get().Namespace(ns).Resource("configmaps").DoRaw(ctx)
		if err != nil {
			return fmt.Errorf("listing configmaps in %s: %w", ns, err)
		}
		b.report.add(figListSize, 1, ct, float64(len(raw))/1024)
	}
	for run := 1; run <= b.flags.runs; run++ {
		for _, ct := range b.flags.contentTypes {
			start := time.Now()
			list, err := listers[ct].CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
			d := time.Since(start)
			if err != nil {
				return fmt.Errorf("listing configmaps in %s: %w", ns, err)
			}
			if len(list.Items) != want {
				return fmt.Errorf("listing configmaps in %s: got %d items, want %d", ns, len(list.Items), want)
			}
			b.report.add(figList, 1, ct, ms(d))
			b.logf("run %d list    %-8s %d items in %.0f ms", run, ct.name, want, ms(d))
		}
	}
	return nil
}

// percentile returns the nearest-rank p-th percentile of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	i := int(math.Ceil(float64(len(s))*p/100)) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
