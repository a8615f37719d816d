package gc

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// identity names one object the way an ownerReference does, plus its
// namespace ("" for cluster-scoped objects, and for owners of
// cluster-scoped dependents).
type identity struct {
	apiVersion string
	kind       string
	namespace  string
	name       string
	uid        types.UID
}

func (id identity) String() string {
	return fmt.Sprintf("%s %s %s/%s (uid %s)", id.apiVersion, id.kind, id.namespace, id.name, id.uid)
}

// LogValue makes an identity one readable log value.
func (id identity) LogValue() slog.Value { return slog.StringValue(id.String()) }

// ownerIdentity is the identity an ownerReference of an object in namespace
// ns gives its owner.
func ownerIdentity(ref metav1.OwnerReference, ns string) identity {
	return identity{apiVersion: ref.APIVersion, kind: ref.Kind, namespace: ns, name: ref.Name, uid: ref.UID}
}

// matches reports whether ref names id's apiVersion, kind, name and UID.
func (id identity) matches(ref metav1.OwnerReference) bool {
	return ref.UID == id.uid && ref.Name == id.name && ref.Kind == id.kind && ref.APIVersion == id.apiVersion
}

func compareIdentities(a, b identity) int {
	return cmp.Or(
		strings.Compare(a.kind, b.kind),
		strings.Compare(a.apiVersion, b.apiVersion),
		strings.Compare(a.namespace, b.namespace),
		strings.Compare(a.name, b.name),
		strings.Compare(string(a.uid), string(b.uid)))
}

// node is one object in the graph: observed through an informer, or
// "virtual", known only because some dependent names it as an owner.
type node struct {
	id identity
	// owners are the object's ownerReferences as last observed.
	owners []metav1.OwnerReference
	// dependents are the UIDs of the nodes that name this one as an owner.
	dependents map[types.UID]struct{}
	virtual    bool
	// beingDeleted: the object has a deletionTimestamp. It never goes back.
	beingDeleted bool
	// deletingDependents: being deleted with the foregroundDeletion
	// finalizer, so the collector deletes its dependents first.
	deletingDependents bool
	// waitingSince is when the collector saw deletingDependents start.
	waitingSince time.Time
}

// eventType says what an informer saw happen to an object.
type eventType int

const (
	addEvent eventType = iota
	updateEvent
	deleteEvent
)

// event is one change to apply to the graph: from an informer, or
// "virtual", made by a worker that found an object gone from the API.
type event struct {
	typ     eventType
	virtual bool
	gvk     schema.GroupVersionKind
	obj     metav1.Object // the object; never modified
	old     metav1.Object // updates only: the object before
	// barrier, if set, makes the event a marker and nothing else: it is
	// closed when the graph builder reaches it.
	barrier chan struct{}
}

func (e *event) identity() identity {
	return identity{
		apiVersion: e.gvk.GroupVersion().String(),
		kind:       e.gvk.Kind,
		namespace:  e.obj.GetNamespace(),
		name:       e.obj.GetName(),
		uid:        e.obj.GetUID(),
	}
}

// effects is the work one graph change asks of the workers.
type effects struct {
	// attemptToDelete are nodes to check: maybe garbage, maybe an owner
	// whose foreground deletion can finish.
	attemptToDelete []types.UID
	// retry are virtual nodes to check again after a backoff.
	retry []types.UID
	// attemptToOrphan are owners whose dependents must be orphaned.
	attemptToOrphan []types.UID
}

func (fx *effects) delete(uids ...types.UID) {
	fx.attemptToDelete = append(fx.attemptToDelete, uids...)
}

// graph is the collector's picture of who owns what, keyed by UID. One
// goroutine writes it (apply); workers read consistent copies (view).
type graph struct {
	mu    sync.RWMutex
	nodes map[types.UID]*node
}

func newGraph() *graph { return &graph{nodes: make(map[types.UID]*node)} }

// apply updates the graph with one event and returns what the workers must
// look at because of it. It follows upstream's processGraphChanges.
func (g *graph) apply(e *event) effects {
	g.mu.Lock()
	defer g.mu.Unlock()
	var fx effects
	id := e.identity()
	n, found := g.nodes[id.uid]
	if found && !e.virtual && n.virtual {
		// First sighting of an owner that dependents named: dependents that
		// named it by other coordinates may be wrong, have them checked.
		if n.id != id {
			_, wrong := g.partition(n, id)
			fx.delete(wrong...)
			n.id = id
		}
		n.virtual = false
	}
	switch {
	case e.typ != deleteEvent && !found:
		n = &node{
			id:                 id,
			owners:             slices.Clone(e.obj.GetOwnerReferences()),
			dependents:         make(map[types.UID]struct{}),
			beingDeleted:       e.obj.GetDeletionTimestamp() != nil,
			deletingDependents: waitingFor(e.obj, metav1.FinalizerDeleteDependents),
		}
		if n.deletingDependents {
			n.waitingSince = time.Now()
		}
		g.nodes[id.uid] = n
		g.addToOwners(n, n.owners, &fx)
		g.transitions(e, n, &fx)
	case e.typ != deleteEvent:
		if !e.virtual {
			n.id.apiVersion, n.id.kind = id.apiVersion, id.kind
		}
		added, removed, changed := referencesDiff(n.owners, e.obj.GetOwnerReferences())
		if len(added)+len(removed)+len(changed) > 0 {
			for _, uid := range unblocked(removed, changed) {
				if _, ok := g.nodes[uid]; ok {
					fx.delete(uid)
				}
			}
			n.owners = slices.Clone(e.obj.GetOwnerReferences())
			g.addToOwners(n, added, &fx)
			g.removeFromOwners(n, removed)
		}
		if e.obj.GetDeletionTimestamp() != nil {
			n.beingDeleted = true
		}
		g.transitions(e, n, &fx)
	case !found:
		// Deleted before it was ever added, or removed by a virtual delete.
	default:
		if g.keepOnVirtualDelete(e, n, id, &fx) {
			return fx
		}
		delete(g.nodes, n.id.uid)
		g.removeFromOwners(n, n.owners)
		fx.delete(sortedUIDs(n.dependents)...)
		for _, ref := range n.owners {
			if o, ok := g.nodes[ref.UID]; ok && o.deletingDependents {
				// Maybe the last dependent it waited for.
				fx.delete(o.id.uid)
			}
		}
	}
	return fx
}

// keepOnVirtualDelete handles a worker's finding that the object id does
// not exist, for node n of the same UID. It reports whether n must stay in
// the graph because dependents name its UID with other coordinates, which
// may exist. Dependents that named exactly id are checked either way.
func (g *graph) keepOnVirtualDelete(e *event, n *node, id identity, fx *effects) bool {
	if !e.virtual {
		return false
	}
	if !n.virtual {
		if n.id == id {
			return false // the observed object itself is gone
		}
		// The informer saw this UID with other coordinates: only the
		// dependents that named the absent ones are suspect.
		matching, _ := g.partition(n, id)
		fx.delete(matching...)
		return true
	}
	matching, nonmatching := g.partition(n, id)
	if len(nonmatching) == 0 {
		return false
	}
	fx.delete(matching...)
	if n.id == id {
		if alt, ok := g.alternate(nonmatching, id); ok {
			n.id = alt
			fx.retry = append(fx.retry, n.id.uid)
		}
	}
	return true
}

// transitions notices an owner starting a deletion that needs the
// collector: orphaning, or deleting dependents first.
func (g *graph) transitions(e *event, n *node, fx *effects) {
	if startsWaitingFor(e.old, e.obj, metav1.FinalizerOrphanDependents) {
		fx.attemptToOrphan = append(fx.attemptToOrphan, n.id.uid)
		return
	}
	if startsWaitingFor(e.old, e.obj, metav1.FinalizerDeleteDependents) {
		// A node first seen as virtual missed this flag: always set it.
		n.deletingDependents = true
		n.waitingSince = time.Now()
		fx.delete(sortedUIDs(n.dependents)...)
		fx.delete(n.id.uid)
	}
}

// addToOwners records n as a dependent of the owners refs name, creating
// virtual nodes for owners not seen yet; those are checked against the API.
// n itself is checked when a reference looks wrong (an owner seen in another
// namespace or under other coordinates), or when an owner waits for its
// dependents' deletion.
func (g *graph) addToOwners(n *node, refs []metav1.OwnerReference, fx *effects) {
	check := false
	for _, ref := range refs {
		o, ok := g.nodes[ref.UID]
		if !ok {
			o = &node{id: ownerIdentity(ref, n.id.namespace), dependents: make(map[types.UID]struct{}), virtual: true}
			g.nodes[ref.UID] = o
			fx.delete(ref.UID)
		}
		o.dependents[n.id.uid] = struct{}{}
		if ok && (suspectReference(o, n, ref) || o.deletingDependents) {
			// Beyond upstream, a dependent that appears while its owner
			// deletes its dependents is checked at once, whatever order
			// the informers delivered them in.
			check = true
		}
	}
	if check {
		fx.delete(n.id.uid)
	}
}

// suspectReference reports whether dependent's reference ref to the known
// node owner looks invalid: a namespaced owner in another namespace, other
// coordinates than the owner's, or a virtual owner first named from another
// namespace (maybe a namespaced kind named by a cluster-scoped dependent).
func suspectReference(owner, dependent *node, ref metav1.OwnerReference) bool {
	switch {
	case owner.id.namespace != "" && owner.id.namespace != dependent.id.namespace:
		return true
	case !owner.id.matches(ref):
		return true
	default:
		return owner.virtual && owner.id.namespace != dependent.id.namespace
	}
}

// removeFromOwners forgets n as a dependent of the owners refs name.
func (g *graph) removeFromOwners(n *node, refs []metav1.OwnerReference) {
	for _, ref := range refs {
		if o, ok := g.nodes[ref.UID]; ok {
			delete(o.dependents, n.id.uid)
		}
	}
}

// partition splits owner's dependents into those whose reference to its
// UID matches id, namespace included, and those with another reference to
// it. A dependent naming it twice, differently, can be in both.
func (g *graph) partition(owner *node, id identity) (matching, nonmatching []types.UID) {
	for _, uid := range sortedUIDs(owner.dependents) {
		dep, ok := g.nodes[uid]
		if !ok {
			continue
		}
		match, mismatch := false, false
		if id.namespace != "" && id.namespace != dep.id.namespace {
			mismatch = true
		} else {
			for _, ref := range dep.owners {
				if ref.UID != id.uid {
					continue
				}
				if id.matches(ref) {
					match = true
				} else {
					mismatch = true
				}
			}
		}
		if match {
			matching = append(matching, uid)
		}
		if mismatch {
			nonmatching = append(nonmatching, uid)
		}
	}
	return matching, nonmatching
}

// alternate picks another identity the dependents give absent's UID, to
// check next: the first after absent in a fixed order, wrapping around, so
// that every identity is tried in turn.
func (g *graph) alternate(dependents []types.UID, absent identity) (identity, bool) {
	var all []identity
	for _, uid := range dependents {
		dep, ok := g.nodes[uid]
		if !ok {
			continue
		}
		for _, ref := range dep.owners {
			if ref.UID != absent.uid {
				continue
			}
			alt := ownerIdentity(ref, dep.id.namespace)
			if absent.namespace == "" && alt.apiVersion == absent.apiVersion && alt.kind == absent.kind {
				alt.namespace = "" // known to be cluster-scoped
			}
			if alt != absent {
				all = append(all, alt)
			}
		}
	}
	if len(all) == 0 {
		return identity{}, false
	}
	slices.SortFunc(all, compareIdentities)
	for _, alt := range all {
		if compareIdentities(alt, absent) > 0 {
			return alt, true
		}
	}
	return all[0], true
}

// dependent is what a worker needs to know of one dependent of a node.
type dependent struct {
	id                 identity
	deletingDependents bool
	// blocking: its reference to the owner has blockOwnerDeletion=true.
	blocking bool
}

// view is a consistent copy of one node, for workers.
type view struct {
	id                 identity
	virtual            bool
	beingDeleted       bool
	deletingDependents bool
	waitingSince       time.Time
	dependents         []dependent // ordered by UID
}

// view returns a copy of the node with the given UID.
func (g *graph) view(uid types.UID) (view, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n, ok := g.nodes[uid]
	if !ok {
		return view{}, false
	}
	v := view{id: n.id, virtual: n.virtual, beingDeleted: n.beingDeleted, deletingDependents: n.deletingDependents, waitingSince: n.waitingSince}
	for _, uid := range sortedUIDs(n.dependents) {
		dep, ok := g.nodes[uid]
		if !ok {
			continue
		}
		d := dependent{id: dep.id, deletingDependents: dep.deletingDependents}
		for _, ref := range dep.owners {
			if ref.UID == n.id.uid && ref.BlockOwnerDeletion != nil && *ref.BlockOwnerDeletion {
				d.blocking = true
			}
		}
		v.dependents = append(v.dependents, d)
	}
	return v, true
}

func sortedUIDs(set map[types.UID]struct{}) []types.UID {
	out := make([]types.UID, 0, len(set))
	for uid := range set {
		out = append(out, uid)
	}
	slices.Sort(out)
	return out
}
