package namespace

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

// Condition reasons and messages users and scripts match on. They are
// upstream's (pkg/controller/namespace/deletion/status_condition_utils.go).
const (
	reasonDiscoveryFailed     = "DiscoveryFailed"
	reasonResourcesDiscovered = "ResourcesDiscovered"
	msgResourcesDiscovered    = "All resources successfully discovered"
	msgDiscoveryFailedGroups  = "Discovery failed for some groups, %d failing: %v"

	reasonGroupVersionParsingFailed = "GroupVersionParsingFailed"
	reasonParsedGroupVersions       = "ParsedGroupVersions"
	msgParsedGroupVersions          = "All legacy kube types successfully parsed"

	reasonContentDeletionFailed = "ContentDeletionFailed"
	msgContentDeletionFailed    = "Failed to delete all resource types, %d remaining: %v"
	reasonContentDeleted        = "ContentDeleted"
	msgContentDeleted           = "All content successfully deleted, may be waiting on finalization"

	reasonSomeResourcesRemain = "SomeResourcesRemain"
	msgSomeResourcesRemain    = "Some resources are remaining: %s"
	msgResourceRemaining      = "%s.%s has %d resource instances"

	reasonSomeFinalizerRemain = "SomeFinalizerRemain"
	msgSomeFinalizerRemain    = "Some finalizers are remaining: %s"
	msgFinalizerRemaining     = "%s in %d resource instances"

	reasonContentRemoved = "ContentRemoved"
	msgContentRemoved    = "All content successfully removed"
)

// conditionTypes are the namespace conditions this controller owns, in the
// order upstream appends them to a namespace's status.
var conditionTypes = []corev1.NamespaceConditionType{
	corev1.NamespaceDeletionDiscoveryFailure,
	corev1.NamespaceDeletionGVParsingFailure,
	corev1.NamespaceDeletionContentFailure,
	corev1.NamespaceContentRemaining,
	corev1.NamespaceFinalizersRemaining,
}

// outcome is what one pass over a namespace's content found.
type outcome struct {
	discoveryErr error   // listing the server's namespaced resources failed, maybe partly
	parseErr     error   // a discovered group version did not parse
	contentErrs  []error // one per resource whose objects could not all be deleted
	// remaining counts the objects still present, per resource.
	remaining map[schema.GroupVersionResource]int
	// finalizers counts the remaining objects that carry each finalizer.
	finalizers map[string]int
	// estimate is upstream's guess, in seconds, of how long the remaining
	// objects need to go away (pod grace periods, finalizers). 0: no wait.
	estimate int64
}

// err joins every error of the pass, nil when there were none.
func (o outcome) err() error {
	var errs []error
	if o.discoveryErr != nil {
		errs = append(errs, fmt.Errorf("discovering namespaced resources: %w", o.discoveryErr))
	}
	if o.parseErr != nil {
		errs = append(errs, fmt.Errorf("parsing discovered group versions: %w", o.parseErr))
	}
	return errors.Join(append(errs, o.contentErrs...)...)
}

// failing returns the condition each failure of o asks for, keyed by type.
// Types not in the map are healthy.
func (o outcome) failing(now metav1.Time) map[corev1.NamespaceConditionType]corev1.NamespaceCondition {
	m := make(map[corev1.NamespaceConditionType]corev1.NamespaceCondition)
	add := func(t corev1.NamespaceConditionType, reason, msg string) {
		m[t] = corev1.NamespaceCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: now, Reason: reason, Message: msg}
	}
	if o.discoveryErr != nil {
		msg := o.discoveryErr.Error()
		var groups *discovery.ErrGroupDiscoveryFailed
		if errors.As(o.discoveryErr, &groups) {
			msg = fmt.Sprintf(msgDiscoveryFailedGroups, len(groups.Groups), o.discoveryErr)
		}
		add(corev1.NamespaceDeletionDiscoveryFailure, reasonDiscoveryFailed, msg)
	}
	if o.parseErr != nil {
		add(corev1.NamespaceDeletionGVParsingFailure, reasonGroupVersionParsingFailed, o.parseErr.Error())
	}
	if len(o.contentErrs) > 0 {
		msgs := make([]string, 0, len(o.contentErrs))
		for _, err := range o.contentErrs {
			msgs = append(msgs, err.Error())
		}
		slices.Sort(msgs)
		add(corev1.NamespaceDeletionContentFailure, reasonContentDeletionFailed,
			fmt.Sprintf(msgContentDeletionFailed, len(o.contentErrs), strings.Join(msgs, ", ")))
	}
	var resources []string
	for gvr, n := range o.remaining {
		if n > 0 {
			resources = append(resources, fmt.Sprintf(msgResourceRemaining, gvr.Resource, gvr.Group, n))
		}
	}
	if len(o.remaining) > 0 { // upstream sets the condition even if every count is zero
		slices.Sort(resources)
		add(corev1.NamespaceContentRemaining, reasonSomeResourcesRemain, fmt.Sprintf(msgSomeResourcesRemain, strings.Join(resources, ", ")))
	}
	var finalizers []string
	for f, n := range o.finalizers {
		if n > 0 {
			finalizers = append(finalizers, fmt.Sprintf(msgFinalizerRemaining, f, n))
		}
	}
	if len(o.finalizers) > 0 {
		slices.Sort(finalizers)
		add(corev1.NamespaceFinalizersRemaining, reasonSomeFinalizerRemain, fmt.Sprintf(msgSomeFinalizerRemain, strings.Join(finalizers, ", ")))
	}
	return m
}

// healthy returns the condition of type t when nothing is wrong with it.
func healthy(t corev1.NamespaceConditionType, now metav1.Time) corev1.NamespaceCondition {
	c := corev1.NamespaceCondition{Type: t, Status: corev1.ConditionFalse, LastTransitionTime: now}
	switch t {
	case corev1.NamespaceDeletionDiscoveryFailure:
		c.Reason, c.Message = reasonResourcesDiscovered, msgResourcesDiscovered
	case corev1.NamespaceDeletionGVParsingFailure:
		c.Reason, c.Message = reasonParsedGroupVersions, msgParsedGroupVersions
	case corev1.NamespaceDeletionContentFailure:
		c.Reason, c.Message = reasonContentDeleted, msgContentDeleted
	case corev1.NamespaceContentRemaining, corev1.NamespaceFinalizersRemaining:
		c.Reason, c.Message = reasonContentRemoved, msgContentRemoved
	}
	return c
}

// conditions returns the namespace conditions that report o, starting from
// the current ones, and whether they differ from current. Every type in
// conditionTypes is present in the result: True with the failure, or False
// with upstream's "ok" reason. A condition's lastTransitionTime moves to now
// only when its status changes. Conditions of other types are kept as they
// are. current is not modified.
func conditions(current []corev1.NamespaceCondition, o outcome, now metav1.Time) ([]corev1.NamespaceCondition, bool) {
	out := slices.Clone(current)
	failing := o.failing(now)
	changed := false
	for _, t := range conditionTypes {
		want, ok := failing[t]
		if !ok {
			want = healthy(t, now)
		}
		i := slices.IndexFunc(out, func(c corev1.NamespaceCondition) bool { return c.Type == t })
		if i < 0 {
			out = append(out, want)
			changed = true
			continue
		}
		have := &out[i]
		if have.Status == want.Status && have.Reason == want.Reason && have.Message == want.Message {
			continue
		}
		if have.Status != want.Status {
			have.LastTransitionTime = now
		}
		have.Status, have.Reason, have.Message = want.Status, want.Reason, want.Message
		changed = true
	}
	return out, changed
}
