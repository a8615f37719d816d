package storage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// InitialEventsAnnotation marks the bookmark that ends the initial events
// of a watch list (sendInitialEvents=true), as upstream names it.
const InitialEventsAnnotation = metav1.InitialEventsAnnotationKey

// WatchOptions say where a watch starts and what it delivers.
type WatchOptions struct {
	// ResourceVersion: with InitialEvents false, deliver the changes after
	// this revision. With InitialEvents true, the oldest revision the
	// initial state may be read at (0: any).
	ResourceVersion int64
	// InitialEvents sends every current object as ADDED before the changes.
	InitialEvents bool
	// InitialEventsEnd sends, after the initial events, a BOOKMARK carrying
	// InitialEventsAnnotation (the WatchList protocol).
	InitialEventsEnd bool
	// Bookmarks sends a BOOKMARK whenever etcd reports progress.
	Bookmarks bool
	Predicate Predicate
}

// Watch streams the changes to the objects under keyPrefix. The watch ends
// when ctx is done, when Stop is called, or after an ERROR event (a 410
// Expired status when the revision has been compacted).
func (s *Store) Watch(ctx context.Context, keyPrefix string, opts WatchOptions) (watch.Interface, error) {
	ctx, cancel := context.WithCancel(ctx)
	w := &watcher{
		store:  s,
		prefix: s.prefix + keyPrefix,
		opts:   opts,
		result: make(chan watch.Event, 100),
		cancel: cancel,
		done:   make(chan struct{}),
	}
	startRev := opts.ResourceVersion + 1
	var first ListResult
	if opts.InitialEvents {
		// The first page here, so that a bad revision fails the call; the
		// rest, read at the same revision, as the watch sends them.
		var err error
		first, err = s.List(ctx, keyPrefix, ListOptions{ResourceVersion: opts.ResourceVersion, Predicate: opts.Predicate, Limit: initialEventsPage})
		if err != nil {
			cancel()
			return nil, err
		}
		startRev = first.ResourceVersion + 1
	}
	go w.run(ctx, keyPrefix, first, startRev)
	return w, nil
}

// A watch's initial events are read from etcd a page at a time, so that a
// watch of every pod holds one page, not all of them, while it sends them.
// The first page has initialEventsPage objects, each next one twice as
// many, up to initialEventsPageMax: etcd counts every key left in the
// range on each page it serves (its Range always reports the total), so
// 100,000 pods in pages of 500 cost etcd 200 walks of half its index on
// average, two seconds of CPU for each of a server start's informers.
const (
	initialEventsPage    = 500
	initialEventsPageMax = 4000
)

type watcher struct {
	store  *Store
	prefix string
	opts   WatchOptions
	result chan watch.Event
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// Stop ends the watch and waits for its goroutine to exit.
func (w *watcher) Stop() {
	w.once.Do(w.cancel)
	<-w.done
}

// ResultChan is closed when the watch ends.
func (w *watcher) ResultChan() <-chan watch.Event { return w.result }

func (w *watcher) run(ctx context.Context, keyPrefix string, page ListResult, startRev int64) {
	defer close(w.done)
	defer close(w.result)
	defer w.cancel()
	limit := int64(initialEventsPage)
	for {
		for i, obj := range page.Items {
			page.Items[i] = nil // sent: the consumer's now
			if !w.send(ctx, watch.Event{Type: watch.Added, Object: obj}) {
				return
			}
		}
		if page.Continue == "" {
			break
		}
		var err error
		limit = min(2*limit, initialEventsPageMax)
		page, err = w.store.List(ctx, keyPrefix, ListOptions{Continue: page.Continue, Predicate: w.opts.Predicate, Limit: limit})
		if err != nil {
			if ctx.Err() == nil {
				w.send(ctx, w.errorEvent(err, startRev, 0))
			}
			return
		}
	}
	if w.opts.InitialEventsEnd {
		if !w.send(ctx, w.bookmark(startRev-1, true)) {
			return
		}
	}
	from := resume{rev: startRev}
	if r := w.store.cache.Load(); r != nil {
		if pos, ok := r.seek(startRev - 1); ok {
			var more bool
			if from, more = w.followRing(ctx, r, pos, from); !more {
				return
			}
		}
	}
	w.followEtcd(ctx, from)
}

// resume is where a watch continues: the changes from revision rev on,
// but for the first skip changes of revision rev under the watch's
// prefix, which it has delivered (one revision may change several keys:
// a lease's expiry deletes all its objects at once).
type resume struct {
	rev  int64
	skip int
}

// followRing delivers the watch cache's changes from position pos on. It
// returns more=true, with where to resume, when the ring dropped changes
// the watch has yet to deliver or broke: the watch continues on etcd.
func (w *watcher) followRing(ctx context.Context, r *ring, pos uint64, from resume) (resume, bool) {
	after := from.rev - 1 // a bookmark must not be older than anything delivered
	var batch [64]*entry
	for {
		n, changed, ok := r.read(pos, batch[:])
		if !ok {
			return from, true
		}
		if n == 0 {
			select {
			case <-ctx.Done():
				return from, false
			case <-changed:
			}
			continue
		}
		for _, e := range batch[:n] {
			pos++
			if e.key == "" { // a bookmark; the ring's are at increasing revisions
				if w.opts.Bookmarks && e.rev >= after {
					if !w.send(ctx, w.bookmark(e.rev, false)) {
						return from, false
					}
					after = e.rev
				}
				continue
			}
			// The ring may not yet hold the revision the watch starts
			// after: the changes up to it, arriving now, were delivered
			// or are before the watch.
			if e.rev < from.rev || !strings.HasPrefix(e.key, w.prefix) {
				continue
			}
			out, send, err := w.translateEntry(e)
			if err != nil {
				w.send(ctx, watch.Event{Type: watch.Error, Object: &apierrors.NewInternalError(err).ErrStatus})
				return from, false
			}
			if send && !w.send(ctx, out) {
				return from, false
			}
			if e.rev == from.rev {
				from.skip++
			} else {
				from = resume{rev: e.rev, skip: 1}
			}
			after = max(after, e.rev)
		}
		clear(batch[:n])
	}
}

// followEtcd delivers the changes from etcd, starting at from.
func (w *watcher) followEtcd(ctx context.Context, from resume) {
	etcdOpts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithRev(from.rev), clientv3.WithPrevKV()}
	if w.opts.Bookmarks {
		etcdOpts = append(etcdOpts, clientv3.WithProgressNotify())
	}
	// RequireLeader makes the watch fail instead of hanging when an
	// external cluster loses quorum.
	ch := w.store.client.Watch(clientv3.WithRequireLeader(ctx), w.prefix, etcdOpts...)
	skip := from.skip
	for resp := range ch {
		if err := resp.Err(); err != nil {
			w.send(ctx, w.errorEvent(err, from.rev, resp.CompactRevision))
			return
		}
		if resp.IsProgressNotify() {
			if w.opts.Bookmarks && !w.send(ctx, w.bookmark(resp.Header.Revision, false)) {
				return
			}
			continue
		}
		for _, ev := range resp.Events {
			if skip > 0 && ev.Kv.ModRevision == from.rev {
				skip--
				continue
			}
			out, ok, err := w.translate(ev)
			if err != nil {
				w.send(ctx, watch.Event{Type: watch.Error, Object: &apierrors.NewInternalError(err).ErrStatus})
				return
			}
			if ok && !w.send(ctx, out) {
				return
			}
		}
	}
}

func (w *watcher) send(ctx context.Context, ev watch.Event) bool {
	select {
	case w.result <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// translate turns an etcd event into a watch event, applying the predicate
// to both the old and the new state as upstream does: an object that starts
// to match is ADDED, one that stops matching is DELETED.
func (w *watcher) translate(ev *clientv3.Event) (watch.Event, bool, error) {
	return w.translateEntry(w.store.newEntry(ev, time.Time{}, false))
}

// translateEntry is translate for a change as an entry, read from etcd or
// the watch cache's ring. The previous state is decoded only when it
// matters: for a deletion (it is the object sent) and for a predicate (an
// object that starts or stops matching). A change seen by a watch without
// one needs only to know whether the object existed.
func (w *watcher) translateEntry(e *entry) (watch.Event, bool, error) {
	if e.err != nil {
		return watch.Event{}, false, e.err
	}
	if !e.deleted && w.opts.Predicate == nil {
		// Whether the object existed before decides ADDED or MODIFIED;
		// its previous state does not matter.
		typ := watch.Modified
		if !e.hadPrev {
			typ = watch.Added
		}
		return watch.Event{Type: typ, Object: e.curObj}, true, nil
	}
	prev, prevObj, err := e.previous()
	if err != nil {
		return watch.Event{}, false, err
	}
	match := func(o runtime.Object) bool {
		return o != nil && (w.opts.Predicate == nil || w.opts.Predicate(o))
	}
	curOK, prevOK := match(e.cur), match(prev)
	switch {
	case e.deleted:
		return watch.Event{Type: watch.Deleted, Object: prevObj}, prevOK, nil
	case curOK && prevOK:
		return watch.Event{Type: watch.Modified, Object: e.curObj}, true, nil
	case curOK:
		return watch.Event{Type: watch.Added, Object: e.curObj}, true, nil
	case prevOK:
		return watch.Event{Type: watch.Deleted, Object: prevObj}, true, nil
	}
	return watch.Event{}, false, nil
}

func (w *watcher) bookmark(rev int64, initialEventsEnd bool) watch.Event {
	obj := w.store.newFunc()
	if accessor, err := meta.Accessor(obj); err == nil {
		if initialEventsEnd {
			accessor.SetAnnotations(map[string]string{InitialEventsAnnotation: "true"})
		}
	}
	_ = setResourceVersion(obj, rev)
	return watch.Event{Type: watch.Bookmark, Object: obj}
}

func (w *watcher) errorEvent(err error, startRev, compactRev int64) watch.Event {
	var listed *ExpiredError // the initial events' revision was compacted
	if errors.As(err, &listed) {
		compactRev = max(compactRev, listed.Compacted)
	}
	if errors.Is(err, rpctypes.ErrCompacted) || listed != nil || compactRev != 0 {
		exp := &ExpiredError{Requested: startRev - 1, Compacted: compactRev}
		return watch.Event{Type: watch.Error, Object: &apierrors.NewResourceExpired(exp.Error()).ErrStatus}
	}
	st := apierrors.NewInternalError(fmt.Errorf("watching %s: %w", w.prefix, err)).ErrStatus
	st.Code = http.StatusInternalServerError
	return watch.Event{Type: watch.Error, Object: &st}
}
