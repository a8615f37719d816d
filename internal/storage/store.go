package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
)

// Client is what storage needs of etcd: key-value access and watches.
// *clientv3.Client satisfies it; a test may wrap one to inject faults.
type Client interface {
	clientv3.KV
	clientv3.Watcher
	clientv3.Lease
}

// Config describes the objects of one resource.
type Config struct {
	Client Client
	// Codec encodes and decodes the storage form of the resource's objects.
	Codec runtime.Codec
	// Prefix is the key prefix of the resource, ending in "/", for example
	// "/registry/pods/". Keys handed to Store methods are relative to it.
	Prefix string
	// NewFunc returns an empty object of the resource's Go type.
	NewFunc func() runtime.Object
	// TTL, if set, makes every object expire this long after its last
	// write (upstream's event TTL), through etcd leases.
	TTL time.Duration
	// Default, if set, fills defaults into every object read, as upstream
	// defaults on decode: objects written before a default existed read
	// as if it always had.
	Default func(obj runtime.Object)
}

// Store reads and writes the objects of one resource. Its methods are safe
// for concurrent use.
type Store struct {
	client  Client
	codec   runtime.Codec
	prefix  string
	newFunc func() runtime.Object
	leases  *leases // nil: objects do not expire
	deflt   func(obj runtime.Object)
	cache   atomic.Pointer[ring] // nil: no watch cache running (RunCache)
	// cachedUpdates counts the updates that started from the cache.
	cachedUpdates atomic.Int64
}

// New returns a Store for cfg.
func New(cfg Config) (*Store, error) {
	switch {
	case cfg.Client == nil:
		return nil, errors.New("storage: Client is required")
	case cfg.Codec == nil:
		return nil, errors.New("storage: Codec is required")
	case cfg.NewFunc == nil:
		return nil, errors.New("storage: NewFunc is required")
	case !strings.HasPrefix(cfg.Prefix, "/") || !strings.HasSuffix(cfg.Prefix, "/"):
		return nil, fmt.Errorf("storage: prefix %q must start and end with /", cfg.Prefix)
	}
	s := &Store{client: cfg.Client, codec: cfg.Codec, prefix: cfg.Prefix, newFunc: cfg.NewFunc, deflt: cfg.Default}
	if cfg.TTL > 0 {
		s.leases = newLeases(cfg.Client, cfg.TTL)
	}
	return s, nil
}

// putOptions are the options of every write: a lease when objects expire.
func (s *Store) putOptions(ctx context.Context) ([]clientv3.OpOption, error) {
	if s.leases == nil {
		return nil, nil
	}
	id, err := s.leases.get(ctx)
	if err != nil {
		return nil, err
	}
	return []clientv3.OpOption{clientv3.WithLease(id)}, nil
}

// Key returns the relative key of an object: "namespace/name", or "name"
// for a cluster-scoped object.
func Key(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// Create stores obj at key if nothing is there yet, and sets obj's
// resourceVersion to the revision of the write. With dryRun it only checks
// that the key is free.
func (s *Store) Create(ctx context.Context, key string, obj runtime.Object, dryRun bool) error {
	full := s.prefix + key
	if dryRun {
		resp, err := s.client.Get(ctx, full, clientv3.WithCountOnly())
		if err != nil {
			return fmt.Errorf("checking %s: %w", full, err)
		}
		if resp.Count > 0 {
			return fmt.Errorf("creating %s: %w", full, ErrExists)
		}
		return nil
	}
	data, err := s.encode(obj)
	if err != nil {
		return err
	}
	putOpts, err := s.putOptions(ctx)
	if err != nil {
		return err
	}
	resp, err := s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(full), "=", 0)).
		Then(clientv3.OpPut(full, string(data), putOpts...)).
		Commit()
	if err != nil {
		return fmt.Errorf("creating %s: %w", full, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("creating %s: %w", full, ErrExists)
	}
	return setResourceVersion(obj, resp.Header.Revision)
}

// Get returns the object at key with its resourceVersion set.
func (s *Store) Get(ctx context.Context, key string) (runtime.Object, error) {
	full := s.prefix + key
	resp, err := s.client.Get(ctx, full)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", full, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, fmt.Errorf("reading %s: %w", full, ErrNotFound)
	}
	return s.decode(resp.Kvs[0].Value, resp.Kvs[0].ModRevision)
}

// UpdateFunc computes the next state of an object from its current one. It
// is handed a copy it may modify, or nil when the object does not exist and
// the caller allowed creation. Returning an error aborts the update with
// that error.
type UpdateFunc func(current runtime.Object) (runtime.Object, error)

// GuaranteedUpdate applies tryUpdate to the current object and writes the
// result if the object did not change in between; on a race it reads the
// new state and calls tryUpdate again. An update that changes nothing
// writes nothing and keeps the resourceVersion. With allowCreate a missing
// object is handed to tryUpdate as nil and created. It returns the stored
// object and whether it was created.
//
// As upstream's cacher does, the first attempt starts from the watch
// cache's newest state of the object when the cache holds it (a pod's
// status write or finalizer removal follows a change every watcher has
// just seen), saving a read of etcd and a decode. That state may be
// stale: the write is conditional on its revision, so a stale one only
// costs a retry on etcd's state, and a tryUpdate error or a no-op seen on
// it is checked against etcd's state before it is returned.
func (s *Store) GuaranteedUpdate(ctx context.Context, key string, allowCreate, dryRun bool, tryUpdate UpdateFunc) (runtime.Object, bool, error) {
	full := s.prefix + key
	var cur *state
	fresh := false
	if !dryRun {
		cur = s.cachedState(full)
	}
	if cur == nil {
		var err error
		if cur, err = s.currentState(ctx, full); err != nil {
			return nil, false, err
		}
		fresh = true
	}
	// refresh replaces a cached state by etcd's, and reports whether that
	// is a different one.
	refresh := func() (bool, error) {
		cachedRev := cur.rev
		next, err := s.currentState(ctx, full)
		if err != nil {
			return false, err
		}
		cur, fresh = next, true
		return cur.rev != cachedRev, nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		if cur.obj == nil && !allowCreate {
			return nil, false, fmt.Errorf("updating %s: %w", full, ErrNotFound)
		}
		var in runtime.Object
		if cur.obj != nil {
			in = cur.obj.DeepCopyObject()
		}
		updated, err := tryUpdate(in)
		if err != nil {
			if !fresh {
				// Maybe an error of stale data only (a resourceVersion
				// precondition): decide on etcd's state.
				if changed, rerr := refresh(); rerr != nil {
					return nil, false, rerr
				} else if changed {
					continue
				}
			}
			return nil, false, err
		}
		data, err := s.encode(updated)
		if err != nil {
			return nil, false, err
		}
		if cur.obj != nil && bytes.Equal(data, cur.data) {
			if !fresh {
				if changed, err := refresh(); err != nil {
					return nil, false, err
				} else if changed {
					continue
				}
			}
			// cur is etcd's here (fresh), not the cache's shared object.
			return cur.obj, false, nil
		}
		if dryRun {
			if cur.obj != nil {
				if err := setResourceVersion(updated, cur.rev); err != nil {
					return nil, false, err
				}
			}
			return updated, cur.obj == nil, nil
		}
		cmp := clientv3.Compare(clientv3.ModRevision(full), "=", cur.rev)
		if cur.obj == nil {
			cmp = clientv3.Compare(clientv3.CreateRevision(full), "=", 0)
		}
		putOpts, err := s.putOptions(ctx)
		if err != nil {
			return nil, false, err
		}
		txn, err := s.client.Txn(ctx).If(cmp).
			Then(clientv3.OpPut(full, string(data), putOpts...)).
			Else(clientv3.OpGet(full)).
			Commit()
		if err != nil {
			return nil, false, fmt.Errorf("updating %s: %w", full, err)
		}
		if txn.Succeeded {
			return updated, cur.obj == nil, setResourceVersion(updated, txn.Header.Revision)
		}
		if cur, err = s.stateOf(txn.Responses[0].GetResponseRange().Kvs); err != nil {
			return nil, false, err
		}
		fresh = true
	}
}

// state is an object as stored: decoded, its bytes and its revision; obj
// nil when there is none. A state from the cache (not fresh, in
// GuaranteedUpdate) holds the cache's shared object: it is only copied.
type state struct {
	obj  runtime.Object
	data []byte
	rev  int64
}

// currentState reads the object at the full key from etcd.
func (s *Store) currentState(ctx context.Context, full string) (*state, error) {
	resp, err := s.client.Get(ctx, full)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", full, err)
	}
	return s.stateOf(resp.Kvs)
}

func (s *Store) stateOf(kvs []*mvccpb.KeyValue) (*state, error) {
	if len(kvs) == 0 {
		return &state{}, nil
	}
	obj, err := s.decode(kvs[0].Value, kvs[0].ModRevision)
	if err != nil {
		return nil, err
	}
	return &state{obj: obj, data: kvs[0].Value, rev: kvs[0].ModRevision}, nil
}

// cachedState is the watch cache's newest state of the object at the
// full key, nil if the cache does not hold one (not running, the key not
// changed recently, or deleted).
func (s *Store) cachedState(full string) *state {
	r := s.cache.Load()
	if r == nil {
		return nil
	}
	e := r.latest(full)
	if e == nil {
		return nil
	}
	s.cachedUpdates.Add(1)
	return &state{obj: e.cur, data: e.data, rev: e.rev}
}

// Precheck inspects the current object before a delete. Returning an error
// aborts the delete with it.
type Precheck func(current runtime.Object) error

// Delete removes the object at key if check accepts its current state,
// retrying when the object changes in between. It returns the last state
// of the object. With dryRun it only runs check.
func (s *Store) Delete(ctx context.Context, key string, dryRun bool, check Precheck) (runtime.Object, error) {
	full := s.prefix + key
	resp, err := s.client.Get(ctx, full)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", full, err)
	}
	kvs := resp.Kvs
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if len(kvs) == 0 {
			return nil, fmt.Errorf("deleting %s: %w", full, ErrNotFound)
		}
		current, err := s.decode(kvs[0].Value, kvs[0].ModRevision)
		if err != nil {
			return nil, err
		}
		if check != nil {
			if err := check(current.DeepCopyObject()); err != nil {
				return nil, err
			}
		}
		if dryRun {
			return current, nil
		}
		txn, err := s.client.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(full), "=", kvs[0].ModRevision)).
			Then(clientv3.OpDelete(full)).
			Else(clientv3.OpGet(full)).
			Commit()
		if err != nil {
			return nil, fmt.Errorf("deleting %s: %w", full, err)
		}
		if txn.Succeeded {
			return current, nil
		}
		kvs = txn.Responses[0].GetResponseRange().Kvs
	}
}

// CurrentRevision returns the store's newest revision.
func (s *Store) CurrentRevision(ctx context.Context) (int64, error) {
	resp, err := s.client.Get(ctx, s.prefix, clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("reading revision: %w", err)
	}
	return resp.Header.Revision, nil
}

func (s *Store) encode(obj runtime.Object) ([]byte, error) {
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", obj, err)
	}
	// The revision is the resourceVersion; it is never stored inside the value.
	rv := accessor.GetResourceVersion()
	accessor.SetResourceVersion("")
	defer accessor.SetResourceVersion(rv)
	var buf bytes.Buffer
	if err := s.codec.Encode(obj, &buf); err != nil {
		return nil, fmt.Errorf("encoding %T: %w", obj, err)
	}
	return buf.Bytes(), nil
}

func (s *Store) decode(data []byte, rev int64) (runtime.Object, error) {
	obj, _, err := s.codec.Decode(data, nil, s.newFunc())
	if err != nil {
		return nil, fmt.Errorf("decoding object at revision %d: %w", rev, err)
	}
	if s.deflt != nil {
		s.deflt(obj)
	}
	return obj, setResourceVersion(obj, rev)
}

func setResourceVersion(obj runtime.Object, rev int64) error {
	accessor, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	accessor.SetResourceVersion(strconv.FormatInt(rev, 10))
	return nil
}

// classify turns etcd's revision errors into storage errors.
func classify(err error, requested int64) error {
	switch {
	case errors.Is(err, rpctypes.ErrCompacted):
		return &ExpiredError{Requested: requested}
	case errors.Is(err, rpctypes.ErrFutureRev):
		return &TooLargeError{Requested: requested}
	}
	return err
}
