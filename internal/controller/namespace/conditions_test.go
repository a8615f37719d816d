package namespace

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
)

// allHealthy is the five conditions of a namespace whose content is all
// gone, dated at.
func allHealthy(at metav1.Time) []corev1.NamespaceCondition {
	return []corev1.NamespaceCondition{
		{Type: corev1.NamespaceDeletionDiscoveryFailure, Status: corev1.ConditionFalse, LastTransitionTime: at,
			Reason: "ResourcesDiscovered", Message: "All resources successfully discovered"},
		{Type: corev1.NamespaceDeletionGVParsingFailure, Status: corev1.ConditionFalse, LastTransitionTime: at,
			Reason: "ParsedGroupVersions", Message: "All legacy kube types successfully parsed"},
		{Type: corev1.NamespaceDeletionContentFailure, Status: corev1.ConditionFalse, LastTransitionTime: at,
			Reason: "ContentDeleted", Message: "All content successfully deleted, may be waiting on finalization"},
		{Type: corev1.NamespaceContentRemaining, Status: corev1.ConditionFalse, LastTransitionTime: at,
			Reason: "ContentRemoved", Message: "All content successfully removed"},
		{Type: corev1.NamespaceFinalizersRemaining, Status: corev1.ConditionFalse, LastTransitionTime: at,
			Reason: "ContentRemoved", Message: "All content successfully removed"},
	}
}

// with returns conds with the condition of c's type replaced by c.
func with(conds []corev1.NamespaceCondition, c corev1.NamespaceCondition) []corev1.NamespaceCondition {
	out := append([]corev1.NamespaceCondition(nil), conds...)
	for i := range out {
		if out[i].Type == c.Type {
			out[i] = c
		}
	}
	return out
}

func TestConditions(t *testing.T) {
	then := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	now := metav1.NewTime(then.Add(time.Minute))
	configmaps := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	jobs := schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
	pods := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	foreign := corev1.NamespaceCondition{Type: "example.com/Other", Status: corev1.ConditionTrue, LastTransitionTime: then, Reason: "R"}

	tests := []struct {
		name        string
		current     []corev1.NamespaceCondition
		outcome     outcome
		want        []corev1.NamespaceCondition
		wantChanged bool
	}{
		{
			name:        "first pass with nothing left sets every condition healthy",
			want:        allHealthy(now),
			wantChanged: true,
		},
		{
			name:    "same healthy conditions are not rewritten",
			current: allHealthy(then),
			want:    allHealthy(then),
		},
		{
			name:    "resources and finalizers remaining are listed sorted",
			current: allHealthy(then),
			outcome: outcome{
				remaining:  map[schema.GroupVersionResource]int{pods: 2, jobs: 1, configmaps: 0},
				finalizers: map[string]int{"example.com/b": 1, "batch.kubernetes.io/job-tracking": 2},
				estimate:   15,
			},
			want: with(with(allHealthy(then),
				corev1.NamespaceCondition{Type: corev1.NamespaceContentRemaining, Status: corev1.ConditionTrue, LastTransitionTime: now,
					Reason:  "SomeResourcesRemain",
					Message: "Some resources are remaining: jobs.batch has 1 resource instances, pods. has 2 resource instances"}),
				corev1.NamespaceCondition{Type: corev1.NamespaceFinalizersRemaining, Status: corev1.ConditionTrue, LastTransitionTime: now,
					Reason:  "SomeFinalizerRemain",
					Message: "Some finalizers are remaining: batch.kubernetes.io/job-tracking in 2 resource instances, example.com/b in 1 resource instances"}),
			wantChanged: true,
		},
		{
			name: "message change without status change keeps the transition time",
			current: with(allHealthy(then), corev1.NamespaceCondition{Type: corev1.NamespaceContentRemaining, Status: corev1.ConditionTrue,
				LastTransitionTime: then, Reason: "SomeResourcesRemain", Message: "Some resources are remaining: pods. has 3 resource instances"}),
			outcome: outcome{remaining: map[schema.GroupVersionResource]int{pods: 1}, estimate: 30},
			want: with(allHealthy(then), corev1.NamespaceCondition{Type: corev1.NamespaceContentRemaining, Status: corev1.ConditionTrue,
				LastTransitionTime: then, Reason: "SomeResourcesRemain", Message: "Some resources are remaining: pods. has 1 resource instances"}),
			wantChanged: true,
		},
		{
			name: "content gone flips remaining back to healthy at now",
			current: with(allHealthy(then), corev1.NamespaceCondition{Type: corev1.NamespaceContentRemaining, Status: corev1.ConditionTrue,
				LastTransitionTime: then, Reason: "SomeResourcesRemain", Message: "Some resources are remaining: pods. has 1 resource instances"}),
			want: with(allHealthy(then), corev1.NamespaceCondition{Type: corev1.NamespaceContentRemaining, Status: corev1.ConditionFalse,
				LastTransitionTime: now, Reason: "ContentRemoved", Message: "All content successfully removed"}),
			wantChanged: true,
		},
		{
			name:    "content errors are counted and sorted",
			current: allHealthy(then),
			outcome: outcome{contentErrs: []error{errors.New("listing v1, Resource=secrets: boom"), errors.New("deleting all batch/v1, Resource=jobs: bang")}},
			want: with(allHealthy(then), corev1.NamespaceCondition{Type: corev1.NamespaceDeletionContentFailure, Status: corev1.ConditionTrue,
				LastTransitionTime: now, Reason: "ContentDeletionFailed",
				Message: "Failed to delete all resource types, 2 remaining: deleting all batch/v1, Resource=jobs: bang, listing v1, Resource=secrets: boom"}),
			wantChanged: true,
		},
		{
			name:    "partial discovery failure counts failing groups",
			current: allHealthy(then),
			outcome: outcome{discoveryErr: &discovery.ErrGroupDiscoveryFailed{Groups: map[schema.GroupVersion]error{
				{Group: "example.com", Version: "v1"}: errors.New("unavailable"),
			}}},
			want: with(allHealthy(then), corev1.NamespaceCondition{Type: corev1.NamespaceDeletionDiscoveryFailure, Status: corev1.ConditionTrue,
				LastTransitionTime: now, Reason: "DiscoveryFailed",
				Message: "Discovery failed for some groups, 1 failing: unable to retrieve the complete list of server APIs: example.com/v1: unavailable"}),
			wantChanged: true,
		},
		{
			name:    "other discovery failure uses the error text",
			current: allHealthy(then),
			outcome: outcome{discoveryErr: errors.New("connection refused")},
			want: with(allHealthy(then), corev1.NamespaceCondition{Type: corev1.NamespaceDeletionDiscoveryFailure, Status: corev1.ConditionTrue,
				LastTransitionTime: now, Reason: "DiscoveryFailed", Message: "connection refused"}),
			wantChanged: true,
		},
		{
			name:    "unparsable group version",
			current: allHealthy(then),
			outcome: outcome{parseErr: errors.New("unexpected GroupVersion string: a/b/c")},
			want: with(allHealthy(then), corev1.NamespaceCondition{Type: corev1.NamespaceDeletionGVParsingFailure, Status: corev1.ConditionTrue,
				LastTransitionTime: now, Reason: "GroupVersionParsingFailed", Message: "unexpected GroupVersion string: a/b/c"}),
			wantChanged: true,
		},
		{
			name:        "conditions of other types are kept in front",
			current:     []corev1.NamespaceCondition{foreign},
			want:        append([]corev1.NamespaceCondition{foreign}, allHealthy(now)...),
			wantChanged: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := append([]corev1.NamespaceCondition(nil), tt.current...)
			got, changed := conditions(tt.current, tt.outcome, now)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("conditions() mismatch (-want +got):\n%s", diff)
			}
			if changed != tt.wantChanged {
				t.Errorf("conditions() changed = %v, want %v", changed, tt.wantChanged)
			}
			if diff := cmp.Diff(before, tt.current); diff != "" {
				t.Errorf("conditions() modified its input (-before +after):\n%s", diff)
			}
		})
	}
}

func TestOutcomeErr(t *testing.T) {
	tests := []struct {
		name    string
		outcome outcome
		wantErr bool
	}{
		{name: "clean pass", outcome: outcome{estimate: 30}},
		{name: "discovery failure", outcome: outcome{discoveryErr: errors.New("x")}, wantErr: true},
		{name: "parse failure", outcome: outcome{parseErr: errors.New("x")}, wantErr: true},
		{name: "content failure", outcome: outcome{contentErrs: []error{errors.New("x")}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.outcome.err(); (got != nil) != tt.wantErr {
				t.Errorf("err() = %v, want error: %v", got, tt.wantErr)
			}
		})
	}
}
