package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/runtime"
)

// Defaults of CacheConfig.
const (
	// DefaultCacheCapacity is how many recent changes a store's watch
	// cache keeps.
	DefaultCacheCapacity = 4096
	// DefaultCacheMaxAge is how long a change stays in the cache at most:
	// upstream's watch cache keeps events for 75 seconds
	// (eventFreshDuration).
	DefaultCacheMaxAge = 75 * time.Second
	// DefaultCacheBookmarkInterval is how often a watcher that allows
	// bookmarks gets one while the resource changes, as upstream's cacher
	// sends one about every minute.
	DefaultCacheBookmarkInterval = time.Minute
)

// CacheConfig tunes a store's watch cache.
type CacheConfig struct {
	// Capacity is how many recent changes the cache keeps for watches that
	// start at an earlier revision; 0 means DefaultCacheCapacity.
	Capacity int
	// MaxAge drops changes older than this; 0 means DefaultCacheMaxAge.
	MaxAge time.Duration
	// BookmarkInterval is how often watchers that allow bookmarks get one
	// at the cache's revision while changes flow; 0 means
	// DefaultCacheBookmarkInterval. When nothing changes, etcd's progress
	// notifications bring them.
	BookmarkInterval time.Duration
	Log              *slog.Logger
}

// RunCache runs the store's watch cache until ctx is done: one etcd watch
// of the whole resource whose changes are decoded once and fanned out to
// every watch the store serves (Watch), with each object encoded once per
// wire format. A watch starting at a revision the cache no longer holds,
// and one that falls too far behind, reads etcd directly instead, so the
// cache changes what watches cost, never what they deliver. If the
// cache's etcd watch fails, its watches continue on etcd and the cache
// starts anew at the current revision.
func (s *Store) RunCache(ctx context.Context, cfg CacheConfig) {
	if cfg.Capacity <= 0 {
		cfg.Capacity = DefaultCacheCapacity
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultCacheMaxAge
	}
	if cfg.BookmarkInterval <= 0 {
		cfg.BookmarkInterval = DefaultCacheBookmarkInterval
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	const minBackoff = 100 * time.Millisecond
	backoff := minBackoff
	for {
		started := time.Now()
		err := s.runRing(ctx, cfg)
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) > time.Minute {
			backoff = minBackoff // a failure after a good run is not a streak
		}
		cfg.Log.Warn("Watch cache restarting; its watches continue on etcd", "prefix", s.prefix, "err", err, "after", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// runRing fills one ring from one etcd watch until the watch fails or ctx
// ends. The ring is then broken: its watchers continue on etcd.
func (s *Store) runRing(ctx context.Context, cfg CacheConfig) error {
	head, err := s.CurrentRevision(ctx)
	if err != nil {
		return err
	}
	r := newRing(cfg.Capacity, head)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer func() {
		s.cache.CompareAndSwap(r, nil)
		r.breakRing()
	}()
	ch := s.client.Watch(clientv3.WithRequireLeader(ctx), s.prefix,
		clientv3.WithPrefix(), clientv3.WithRev(head+1), clientv3.WithPrevKV(), clientv3.WithProgressNotify())
	s.cache.Store(r)

	tick := time.NewTicker(min(cfg.BookmarkInterval, cfg.MaxAge/4))
	defer tick.Stop()
	lastBookmark := time.Now()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case now := <-tick.C:
			r.trim(now.Add(-cfg.MaxAge))
			if now.Sub(lastBookmark) >= cfg.BookmarkInterval {
				r.bookmark(0, now)
				lastBookmark = now
			}
		case resp, ok := <-ch:
			if !ok {
				return errors.New("etcd closed the watch")
			}
			if err := resp.Err(); err != nil {
				return fmt.Errorf("watching %s: %w", s.prefix, err)
			}
			now := time.Now()
			if resp.IsProgressNotify() {
				r.bookmark(resp.Header.Revision, now)
				continue
			}
			entries := make([]*entry, len(resp.Events))
			for i, ev := range resp.Events {
				entries[i] = s.newEntry(ev, now, true)
			}
			r.append(entries, now.Add(-cfg.MaxAge))
		}
	}
}

// entry is one change: in the ring, decoded once for all its watchers;
// on a watch reading etcd directly, for that watch alone.
type entry struct {
	key string // the full etcd key; "" for a bookmark
	rev int64
	at  time.Time
	err error // the change could not be decoded

	deleted bool
	// shared: the entry is the ring's, its objects read only, and the
	// events carry them as cachingObjects (encoded once per format).
	shared bool
	cur    runtime.Object // the new state of a put
	curObj runtime.Object // what events carry of it
	// data is the put's value, kept by the ring for GuaranteedUpdate
	// (Store.cachedState).
	data []byte

	// The previous state, decoded on first use (a deletion, a watch
	// with a predicate): a change seen by watches without one needs only
	// to know it existed.
	store    *Store
	hadPrev  bool
	prevData []byte
	prevOnce sync.Once
	prev     runtime.Object
	prevObj  runtime.Object
	prevErr  error
}

func (s *Store) newEntry(ev *clientv3.Event, at time.Time, shared bool) *entry {
	e := &entry{key: string(ev.Kv.Key), rev: ev.Kv.ModRevision, at: at, store: s, deleted: ev.Type == mvccpb.DELETE, shared: shared}
	if ev.PrevKv != nil {
		e.hadPrev, e.prevData = true, ev.PrevKv.Value
	}
	if e.deleted {
		_, _, e.err = e.previous()
		return e
	}
	if e.cur, e.err = s.decode(ev.Kv.Value, ev.Kv.ModRevision); e.err == nil {
		e.curObj = e.out(e.cur)
		if shared {
			e.data = ev.Kv.Value
		}
	}
	return e
}

// out is what an event carries of obj.
func (e *entry) out(obj runtime.Object) runtime.Object {
	if e.shared {
		return newCachingObject(obj)
	}
	return obj
}

// previous returns the state before the change, nil if there was none.
// It carries the revision of the change, as upstream reports a deleted
// object at the deletion's resourceVersion.
func (e *entry) previous() (runtime.Object, runtime.Object, error) {
	e.prevOnce.Do(func() {
		if e.prevData == nil {
			return
		}
		if e.prev, e.prevErr = e.store.decode(e.prevData, e.rev); e.prevErr == nil {
			e.prevObj = e.out(e.prev)
		}
		e.prevData = nil
	})
	return e.prev, e.prevObj, e.prevErr
}

// ring holds the recent changes of one resource in revision order, with
// bookmarks among them, and wakes the watches that follow it.
type ring struct {
	mu   sync.Mutex
	buf  []*entry
	head uint64 // sequence number of buf's oldest entry
	next uint64 // sequence number the next entry gets
	// trimmed: every change after this revision is in buf or yet to come.
	trimmed int64
	// rev is the newest revision the ring knows the resource at.
	rev     int64
	marked  int64 // revision of the newest bookmark
	changed chan struct{}
	broken  bool
	// byKey is the newest change of each key in buf.
	byKey map[string]*entry
}

func newRing(capacity int, rev int64) *ring {
	return &ring{buf: make([]*entry, capacity), trimmed: rev, rev: rev, marked: rev, changed: make(chan struct{}), byKey: map[string]*entry{}}
}

// latest returns the newest change of key the ring holds if it is a put
// it could decode, else nil.
func (r *ring) latest(key string) *entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.byKey[key]
	if r.broken || e == nil || e.deleted || e.err != nil || e.data == nil {
		return nil
	}
	return e
}

// append adds changes, dropping the oldest beyond capacity and those
// older than stale.
func (r *ring) append(entries []*entry, stale time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range entries {
		r.pushLocked(e)
		r.rev = max(r.rev, e.rev)
	}
	r.trimLocked(stale)
	r.wakeLocked()
}

// bookmark adds a bookmark at rev (0: the newest revision the ring knows)
// unless one is already there.
func (r *ring) bookmark(rev int64, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rev = max(r.rev, rev)
	if r.rev <= r.marked {
		return
	}
	r.marked = r.rev
	r.pushLocked(&entry{rev: r.rev, at: at})
	r.wakeLocked()
}

// pushLocked adds e, dropping the oldest entry when the ring is full.
func (r *ring) pushLocked(e *entry) {
	if r.next-r.head == uint64(len(r.buf)) {
		r.dropOldestLocked()
	}
	r.buf[r.next%uint64(len(r.buf))] = e
	r.next++
	if e.key != "" {
		r.byKey[e.key] = e
	}
}

func (r *ring) trim(stale time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.trimLocked(stale)
}

func (r *ring) trimLocked(stale time.Time) {
	for r.head < r.next && r.buf[r.head%uint64(len(r.buf))].at.Before(stale) {
		r.dropOldestLocked()
	}
}

func (r *ring) dropOldestLocked() {
	i := r.head % uint64(len(r.buf))
	e := r.buf[i]
	r.trimmed = max(r.trimmed, e.rev)
	if e.key != "" && r.byKey[e.key] == e {
		delete(r.byKey, e.key)
	}
	r.buf[i] = nil
	r.head++
}

func (r *ring) wakeLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// breakRing wakes every watch of the ring to continue on etcd.
func (r *ring) breakRing() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.broken = true
	r.wakeLocked()
}

// seek returns the sequence number of the first change after revision
// after, or false if the ring no longer holds every such change.
func (r *ring) seek(after int64) (uint64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.broken || after < r.trimmed {
		return 0, false
	}
	pos := r.next
	for pos > r.head && r.buf[(pos-1)%uint64(len(r.buf))].rev > after {
		pos--
	}
	return pos, true
}

// read copies up to len(out) entries from pos on into out. It returns how
// many it copied and, when none, a channel closed once there are more.
// ok is false if the ring dropped pos or broke: the reader must continue
// on etcd.
func (r *ring) read(pos uint64, out []*entry) (n int, changed <-chan struct{}, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.broken || pos < r.head {
		return 0, nil, false
	}
	for pos < r.next && n < len(out) {
		out[n] = r.buf[pos%uint64(len(r.buf))]
		n++
		pos++
	}
	return n, r.changed, true
}
