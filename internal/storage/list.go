package storage

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/runtime"
)

// Predicate reports whether an object belongs in a list or watch (label and
// field selectors). A nil Predicate matches everything.
type Predicate func(obj runtime.Object) bool

// ListOptions are the resourceVersion, paging and filter rules of a list.
type ListOptions struct {
	// ResourceVersion, when Exact, is the revision to read at. Otherwise it is
	// the oldest revision the caller accepts (0: any); the list is read at
	// the newest revision.
	ResourceVersion int64
	Exact           bool
	// Limit caps the number of items; 0 means no limit. When more items
	// match, ListResult.Continue resumes after the last one returned.
	Limit int64
	// Continue is a token from an earlier ListResult.
	Continue  string
	Predicate Predicate
}

// ListResult is one page of a list.
type ListResult struct {
	Items []runtime.Object
	// ResourceVersion is the revision the list was read at.
	ResourceVersion int64
	Continue        string
}

// continueToken is the paging state handed to clients. Its JSON shape is
// the one upstream's apiserver uses, so tokens look familiar.
type continueToken struct {
	APIVersion      string `json:"v"`
	ResourceVersion int64  `json:"rv"`
	StartKey        string `json:"start"`
}

const continueAPIVersion = "meta.k8s.io/v1"

func encodeContinue(rev int64, startKey string) (string, error) {
	b, err := json.Marshal(continueToken{APIVersion: continueAPIVersion, ResourceVersion: rev, StartKey: startKey})
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func decodeContinue(token, keyPrefix string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, "", fmt.Errorf("%w: %v", ErrInvalidContinue, err)
	}
	var t continueToken
	if err := json.Unmarshal(b, &t); err != nil {
		return 0, "", fmt.Errorf("%w: %v", ErrInvalidContinue, err)
	}
	switch {
	case t.APIVersion != continueAPIVersion:
		return 0, "", fmt.Errorf("%w: unknown version %q", ErrInvalidContinue, t.APIVersion)
	case t.ResourceVersion <= 0:
		return 0, "", fmt.Errorf("%w: no resource version", ErrInvalidContinue)
	case !strings.HasPrefix(t.StartKey, keyPrefix) || strings.Contains(t.StartKey, ".."):
		return 0, "", fmt.Errorf("%w: key outside the listed range", ErrInvalidContinue)
	}
	return t.ResourceVersion, t.StartKey, nil
}

// List returns the objects whose relative keys start with keyPrefix ("" for
// all, "namespace/" for one namespace) and match opts.Predicate, in key
// order. Pages of a paged list are all read at the revision of the first.
func (s *Store) List(ctx context.Context, keyPrefix string, opts ListOptions) (ListResult, error) {
	rangeEnd := clientv3.GetPrefixRangeEnd(s.prefix + keyPrefix)
	start := s.prefix + keyPrefix
	var rev int64
	if opts.Continue != "" {
		r, startKey, err := decodeContinue(opts.Continue, keyPrefix)
		if err != nil {
			return ListResult{}, err
		}
		rev, start = r, s.prefix+startKey
	} else if opts.Exact {
		rev = opts.ResourceVersion
	}

	var out ListResult
	batch := opts.Limit
	if batch > 0 && opts.Predicate != nil && batch < 100 {
		batch = 100 // read ahead when a filter may drop most keys
	}
	for {
		getOpts := []clientv3.OpOption{clientv3.WithRange(rangeEnd)}
		if batch > 0 {
			getOpts = append(getOpts, clientv3.WithLimit(batch+1))
		}
		if rev > 0 {
			getOpts = append(getOpts, clientv3.WithRev(rev))
		}
		resp, err := s.client.Get(ctx, start, getOpts...)
		if err != nil {
			err = classify(err, rev)
			if e, ok := err.(*ExpiredError); ok && opts.Continue != "" {
				e.Continue = true
			}
			return ListResult{}, fmt.Errorf("listing %s%s: %w", s.prefix, keyPrefix, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
			if opts.ResourceVersion > rev {
				return ListResult{}, &TooLargeError{Requested: opts.ResourceVersion, Current: rev}
			}
		}
		out.ResourceVersion = rev
		kvs := resp.Kvs
		more := resp.More
		if batch > 0 && int64(len(kvs)) > batch {
			kvs, more = kvs[:batch], true
		}
		for i, kv := range kvs {
			obj, err := s.decode(kv.Value, kv.ModRevision)
			if err != nil {
				return ListResult{}, err
			}
			if opts.Predicate != nil && !opts.Predicate(obj) {
				continue
			}
			out.Items = append(out.Items, obj)
			if opts.Limit > 0 && int64(len(out.Items)) == opts.Limit {
				if i < len(kvs)-1 || more {
					rel := strings.TrimPrefix(string(kv.Key), s.prefix) + "\x00"
					if out.Continue, err = encodeContinue(rev, rel); err != nil {
						return ListResult{}, err
					}
				}
				return out, nil
			}
		}
		if !more || len(kvs) == 0 {
			return out, nil
		}
		start = string(kvs[len(kvs)-1].Key) + "\x00"
	}
}
