package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// The api figures of issue #8 beyond the first three: a list of many pods,
// watch fan-out to many watchers, and mutating calls under many clients.

// podListRuns measures the time of one typed, unpaged List of -pod-list
// pods. The pods are bound to a node that does not exist, so neither the
// scheduler nor the agent acts on them; each is about the size of a Job's
// pod.
func (b *apiBench) podListRuns(ctx context.Context) error {
	conns := &connections{}
	defer conns.close()
	const ns = "podlist"
	want := b.flags.podList
	clients, err := b.writers(ctx, conns, ctProtobuf, listWriters, ns)
	if err != nil {
		return err
	}
	start := time.Now()
	var next atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for _, cs := range clients {
		g.Go(func() error {
			for {
				i := int(next.Add(1)) - 1
				if i >= want {
					return nil
				}
				pod := finishedPod(i)
				pod.Spec.NodeName = "bench-nowhere"
				if _, err := cs.CoreV1().Pods(ns).Create(gctx, pod, metav1.CreateOptions{}); err != nil {
					return fmt.Errorf("creating pod %d: %w", i, err)
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	b.logf("pod list: created %d pods in %.1fs", want, time.Since(start).Seconds())

	listers := make(map[contentType]kubernetes.Interface)
	for _, ct := range b.flags.contentTypes {
		cs, err := conns.newClient(b.base, ct)
		if err != nil {
			return err
		}
		listers[ct] = cs
		raw, err := cs.CoreV1().RESTClient().Get().Namespace(ns).Resource("pods").DoRaw(ctx)
		if err != nil {
			return fmt.Errorf("listing pods in %s: %w", ns, err)
		}
		b.report.add(figPodListSize, 1, ct, float64(len(raw))/1024)
	}
	for run := 1; run <= b.flags.runs; run++ {
		for _, ct := range b.flags.contentTypes {
			start := time.Now()
			list, err := listers[ct].CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			d := time.Since(start)
			if err != nil {
				return fmt.Errorf("listing pods in %s: %w", ns, err)
			}
			if len(list.Items) != want {
				return fmt.Errorf("listing pods in %s: got %d items, want %d", ns, len(list.Items), want)
			}
			b.report.add(figPodList, 1, ct, ms(d))
			b.logf("run %d pod list %-8s %d pods in %.0f ms", run, ct.name, want, ms(d))
		}
	}
	return nil
}

// fanoutRun measures watch fan-out: -fanout-watchers watches of one
// namespace, each on its own connection, while one writer creates
// -fanout-events objects, one every -fanout-interval. For each object, the
// latency is from just before its Create call to its ADDED event at the
// last of the watchers (and, separately, at each watcher).
func (b *apiBench) fanoutRun(ctx context.Context, run int, ct contentType) error {
	conns := &connections{}
	defer conns.close()
	n := b.flags.fanoutWatchers
	ns := fmt.Sprintf("fanout-%s-r%d", ct.name, run)
	writers, err := b.writers(ctx, conns, ct, 1, ns)
	if err != nil {
		return err
	}
	writer := writers[0]
	list, err := writer.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	wctx, cancelWatches := context.WithCancel(ctx)
	defer cancelWatches()
	timeout := max(1, int64(b.flags.timeout/time.Second))
	watches := make([]watch.Interface, n)
	for i := range n {
		cs, err := conns.newClient(b.base, ct)
		if err != nil {
			return err
		}
		w, err := cs.CoreV1().ConfigMaps(ns).Watch(wctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion, TimeoutSeconds: &timeout})
		if err != nil {
			return fmt.Errorf("watch %d: %w", i, err)
		}
		defer w.Stop()
		watches[i] = w
	}
	// One untimed object that every watch must deliver first, so that
	// the timed events flow through watches that have caught up.
	if _, err := writer.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: sentinelName}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	for i, w := range watches {
		if err := awaitAdded(ctx, w, sentinelName); err != nil {
			return fmt.Errorf("watch %d: %w", i, err)
		}
	}

	count := b.flags.fanoutEvents
	sent := make([]atomic.Int64, count)
	base := time.Now()
	arrivals := make([][]time.Duration, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, w := range watches {
		wg.Go(func() { arrivals[i], errs[i] = collect(wctx, w, sent, base) })
	}
	tick := time.NewTicker(b.flags.fanoutInterval)
	defer tick.Stop()
	var writeErr error
	for i := range count {
		cm := configMap(i)
		sent[i].Store(int64(time.Since(base)) + 1)
		if _, err := writer.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			writeErr = fmt.Errorf("creating configmap %s/%s: %w", ns, cm.Name, err)
			break
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	if writeErr != nil {
		cancelWatches()
	}
	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(watchDrain):
		cancelWatches()
		<-drained
	}
	if writeErr != nil {
		return writeErr
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	all := make([]time.Duration, count)
	var each []time.Duration
	for i := range count {
		sentAt := time.Duration(sent[i].Load() - 1)
		for w := range n {
			d := arrivals[w][i] - sentAt
			all[i] = max(all[i], d)
			each = append(each, d)
		}
	}
	p50, p99 := percentile(all, 50), percentile(all, 99)
	b.report.add(figFanoutP50, n, ct, ms(p50))
	b.report.add(figFanoutP99, n, ct, ms(p99))
	b.report.add(figFanoutEachP99, n, ct, ms(percentile(each, 99)))
	b.logf("run %d fan-out %-8s watchers=%-3d %d events every %v: at all watchers p50 %.2f ms p99 %.2f ms",
		run, ct.name, n, count, b.flags.fanoutInterval, ms(p50), ms(p99))
	return nil
}

// awaitAdded waits for the ADDED event of the ConfigMap name.
func awaitAdded(ctx context.Context, w watch.Interface, name string) error {
	ctx, cancel := context.WithTimeout(ctx, watchDrain)
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the event of %s: %w", name, ctx.Err())
		case ev, ok := <-w.ResultChan():
			if !ok {
				return fmt.Errorf("watch ended before the event of %s", name)
			}
			if ev.Type == watch.Error {
				return fmt.Errorf("watch: %w", apierrors.FromObject(ev.Object))
			}
			if cm, ok := ev.Object.(*corev1.ConfigMap); ok && ev.Type == watch.Added && cm.Name == name {
				return nil
			}
		}
	}
}

// mutatingRun measures mutating calls under -mutating-clients concurrent
// clients, each with its own connection, as separate processes would
// have: each client creates a ConfigMap, updates it and deletes it, again
// and again, until -mutating-calls calls have been made in all.
func (b *apiBench) mutatingRun(ctx context.Context, run int, ct contentType) error {
	conns := &connections{}
	defer conns.close()
	n := b.flags.mutatingClients
	ns := fmt.Sprintf("mutate-%s-r%d", ct.name, run)
	first, err := b.writers(ctx, conns, ct, 1, ns)
	if err != nil {
		return err
	}
	clients := []kubernetes.Interface{first[0]}
	for len(clients) < n {
		cs, err := conns.newClient(b.base, ct)
		if err != nil {
			return err
		}
		if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
			return fmt.Errorf("warming up a client: %w", err)
		}
		clients = append(clients, cs)
	}
	rounds := (b.flags.mutatingCalls + 2) / 3
	var (
		next atomic.Int64
		mu   sync.Mutex
		lats []time.Duration
	)
	g, gctx := errgroup.WithContext(ctx)
	start := time.Now()
	for c, cs := range clients {
		g.Go(func() error {
			var mine []time.Duration
			defer func() {
				mu.Lock()
				lats = append(lats, mine...)
				mu.Unlock()
			}()
			cms := cs.CoreV1().ConfigMaps(ns)
			timed := func(call func() error) error {
				t0 := time.Now()
				err := call()
				mine = append(mine, time.Since(t0))
				return err
			}
			for {
				i := int(next.Add(1)) - 1
				if i >= rounds {
					return nil
				}
				cm := configMap(i)
				cm.Labels = map[string]string{"client": strconv.Itoa(c)}
				var got *corev1.ConfigMap
				if err := timed(func() (err error) { got, err = cms.Create(gctx, cm, metav1.CreateOptions{}); return err }); err != nil {
					return fmt.Errorf("creating %s: %w", cm.Name, err)
				}
				got.Data["payload"] = payload[:50]
				if err := timed(func() error { _, err := cms.Update(gctx, got, metav1.UpdateOptions{}); return err }); err != nil {
					return fmt.Errorf("updating %s: %w", cm.Name, err)
				}
				if err := timed(func() error { return cms.Delete(gctx, cm.Name, metav1.DeleteOptions{}) }); err != nil {
					return fmt.Errorf("deleting %s: %w", cm.Name, err)
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	elapsed := time.Since(start)
	rate := float64(len(lats)) / elapsed.Seconds()
	p50, p99 := percentile(lats, 50), percentile(lats, 99)
	b.report.add(figMutateRate, n, ct, rate)
	b.report.add(figMutateP50, n, ct, ms(p50))
	b.report.add(figMutateP99, n, ct, ms(p99))
	b.logf("run %d mutate  %-8s clients=%-3d %5d calls in %6.2fs: %6.0f/s p50 %.2f ms p99 %.2f ms",
		run, ct.name, n, len(lats), elapsed.Seconds(), rate, ms(p50), ms(p99))
	return nil
}
