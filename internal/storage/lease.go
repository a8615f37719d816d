package storage

import (
	"context"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// leases hands out etcd leases for objects that expire (events), reusing
// one lease for all writes within a short window, as upstream's lease
// manager does, so a burst of events does not grant a lease per event.
type leases struct {
	client clientv3.Lease
	ttl    time.Duration
	reuse  time.Duration

	mu      sync.Mutex
	id      clientv3.LeaseID
	granted time.Time
}

// maxLeaseReuse caps how long one lease serves writes.
const maxLeaseReuse = time.Minute

func newLeases(client clientv3.Lease, ttl time.Duration) *leases {
	reuse := ttl / 20 // keys live at most 5% longer than their TTL
	if reuse > maxLeaseReuse {
		reuse = maxLeaseReuse
	}
	return &leases{client: client, ttl: ttl, reuse: reuse}
}

// get returns a lease that outlives now+ttl.
func (l *leases) get(ctx context.Context) (clientv3.LeaseID, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if l.id != 0 && now.Sub(l.granted) < l.reuse {
		return l.id, nil
	}
	seconds := int64((l.ttl + l.reuse + time.Second - 1) / time.Second)
	resp, err := l.client.Grant(ctx, seconds)
	if err != nil {
		return 0, fmt.Errorf("granting a %ds lease: %w", seconds, err)
	}
	l.id, l.granted = resp.ID, now
	return l.id, nil
}
