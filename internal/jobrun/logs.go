package jobrun

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// LogMode says which pod logs batchd run prints.
type LogMode string

const (
	// LogsAll streams every container's log as it runs.
	LogsAll LogMode = "all"
	// LogsFailed prints the logs of each failed pod once it has ended.
	LogsFailed LogMode = "failed"
	// LogsNone prints no logs (the summary still shows the end of a
	// failed Job's last failed pod's log).
	LogsNone LogMode = "none"
)

// ParseLogMode parses --logs.
func ParseLogMode(s string) (LogMode, error) {
	switch m := LogMode(s); m {
	case LogsAll, LogsFailed, LogsNone:
		return m, nil
	}
	return "", Usage(fmt.Errorf("invalid --logs %q: want all, failed or none", s))
}

// logs reads pod logs through the API (pods/log), prints them through the
// view with a "[pod/container] " prefix, and keeps each container's last
// lines for the summary. Every reading goroutine is tracked by wg.
type logs struct {
	client kubernetes.Interface
	mode   LogMode
	keep   int // lines kept per container
	view   *view
	log    *slog.Logger
	wg     sync.WaitGroup

	mu    sync.Mutex
	seen  map[string]bool                // streams and fetches started, by key
	ended map[string]chan struct{}       // closed when that read ends, by key
	tails map[types.UID]map[string]*ring // last lines by pod and container
}

func newLogs(client kubernetes.Interface, mode LogMode, keep int, v *view, log *slog.Logger) *logs {
	return &logs{client: client, mode: mode, keep: keep, view: v, log: log,
		seen: map[string]bool{}, ended: map[string]chan struct{}{}, tails: map[types.UID]map[string]*ring{}}
}

// podChanged starts what the pod's new state calls for: in LogsAll, a
// stream for each container run that has started; in the other modes, a
// one-off read once the pod has failed. ctx bounds the reads it starts.
//
// A container's log is printed after the logs of the containers that ended
// before it in the pod (init containers first, as they ran): a pod seen
// only once it has finished would otherwise print them in whatever order
// the reads return.
func (l *logs) podChanged(ctx context.Context, pod *corev1.Pod) {
	if l.mode == LogsAll {
		var after <-chan struct{} // the read of the last ended container before this one
		for _, cs := range containerStatuses(pod) {
			if cs.State.Running == nil && cs.State.Terminated == nil {
				continue
			}
			key := fmt.Sprintf("%s/%s/%d", pod.UID, cs.Name, cs.RestartCount)
			if l.claim(key) {
				l.start(ctx, key, pod, cs.Name, &corev1.PodLogOptions{Container: cs.Name, Follow: true}, true, after)
			}
			if cs.State.Terminated != nil {
				after = l.endOf(key)
			}
		}
		return
	}
	if pod.Status.Phase != corev1.PodFailed || !l.claim(string(pod.UID)) {
		return
	}
	var after <-chan struct{}
	for _, cs := range containerStatuses(pod) {
		if cs.State.Terminated == nil && cs.LastTerminationState.Terminated == nil {
			continue // never ran
		}
		opts := &corev1.PodLogOptions{Container: cs.Name}
		print := l.mode == LogsFailed
		if !print {
			opts.TailLines = ptr.To(int64(l.keep))
		}
		key := string(pod.UID) + "/" + cs.Name
		l.start(ctx, key, pod, cs.Name, opts, print, after)
		after = l.endOf(key)
	}
}

// endOf returns the channel closed when the read started under key ends.
func (l *logs) endOf(key string) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ended[key]
}

// containerStatuses lists init containers first, as they run.
func containerStatuses(pod *corev1.Pod) []corev1.ContainerStatus {
	return append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
}

func (l *logs) claim(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen[key] {
		return false
	}
	l.seen[key] = true
	return true
}

// start reads one container's log in a goroutine, once after (if not nil)
// is closed; the read's end closes endOf(key).
func (l *logs) start(ctx context.Context, key string, pod *corev1.Pod, container string, opts *corev1.PodLogOptions, print bool, after <-chan struct{}) {
	r := l.ring(pod.UID, container)
	prefix := "[" + pod.Name + "/" + container + "] "
	req := l.client.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, opts)
	ended := make(chan struct{})
	l.mu.Lock()
	l.ended[key] = ended
	l.mu.Unlock()
	l.wg.Go(func() {
		defer close(ended)
		if after != nil {
			select {
			case <-after:
			case <-ctx.Done():
				return
			}
		}
		err := func() error {
			stream, err := req.Stream(ctx)
			if err != nil {
				return err
			}
			defer stream.Close()
			return eachLine(stream, func(line string) {
				r.add(line)
				if print {
					l.view.line(prefix + line)
				}
			})
		}()
		if err != nil && ctx.Err() == nil {
			l.log.Debug("Reading pod log", "pod", pod.Namespace+"/"+pod.Name, "container", container, "err", err)
			r.fail(err)
		}
	})
}

// eachLine calls fn with every line of r, without its newline.
func eachLine(r io.Reader, fn func(string)) error {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			fn(strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"))
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (l *logs) ring(uid types.UID, container string) *ring {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.tails[uid]
	if m == nil {
		m = map[string]*ring{}
		l.tails[uid] = m
	}
	r := m[container]
	if r == nil {
		r = &ring{max: l.keep}
		m[container] = r
	}
	return r
}

// tail returns a container's last lines, and why there are none when
// reading failed; ok is false if its log was never read.
func (l *logs) tail(uid types.UID, container string) (lines []string, unavailable string, ok bool) {
	l.mu.Lock()
	r := l.tails[uid][container]
	l.mu.Unlock()
	if r == nil {
		return nil, "", false
	}
	lines, err := r.snapshot()
	if err != nil && len(lines) == 0 {
		return nil, err.Error(), true
	}
	return lines, "", true
}

// wait waits for every read to end, until ctx is done.
func (l *logs) wait(ctx context.Context) {
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// ring keeps the last max lines added.
type ring struct {
	mu    sync.Mutex
	max   int
	lines []string
	err   error
}

func (r *ring) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.max <= 0 {
		return
	}
	if len(r.lines) == r.max {
		copy(r.lines, r.lines[1:])
		r.lines = r.lines[:r.max-1]
	}
	r.lines = append(r.lines, s)
}

func (r *ring) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

func (r *ring) snapshot() ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...), r.err
}
