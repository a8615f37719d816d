package apiserver_test

import (
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/batchd/batchd/internal/authn"
	"github.com/batchd/batchd/internal/clustertest"
)

func TestSelfReviews(t *testing.T) {
	c := clustertest.Start(t)
	ctx := t.Context()
	pb := protobufClient(t, c) // kubectl 1.32+ sends these as protobuf
	ssar, err := pb.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: "default", Verb: "create", Group: "batch", Resource: "jobs"}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !ssar.Status.Allowed {
		t.Errorf("admin may not create jobs: %+v", ssar.Status)
	}
	_, err = c.Client().AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{}, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) {
		t.Errorf("review without attributes: %v, want 422", err)
	}
	rules, err := c.Client().AuthorizationV1().SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{
		Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: "default"}}, metav1.CreateOptions{})
	if err != nil || len(rules.Status.ResourceRules) == 0 || rules.Status.ResourceRules[0].Verbs[0] != "*" {
		t.Errorf("rules review = %+v, %v; want all verbs on all resources", rules, err)
	}
	who, err := c.Client().AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil || who.Status.UserInfo.Username != authn.AdminName {
		t.Errorf("whoami = %+v, %v; want %s", who, err, authn.AdminName)
	}
}

func TestEvictionMarksAndDeletesPod(t *testing.T) {
	c := clustertest.Start(t)
	ctx := t.Context()
	pods := c.Client().CoreV1().Pods("default")
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "victim", Finalizers: []string{"example.com/keep"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}}
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := pods.EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "victim", Namespace: "default"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := pods.Get(ctx, "victim", metav1.GetOptions{}) // the finalizer keeps it for inspection
	if err != nil {
		t.Fatal(err)
	}
	if got.DeletionTimestamp == nil {
		t.Error("evicted pod not marked for deletion")
	}
	var found bool
	for _, cond := range got.Status.Conditions {
		if cond.Type == corev1.DisruptionTarget && cond.Status == corev1.ConditionTrue && cond.Reason == "EvictionByEvictionAPI" && cond.Message == "Eviction API: evicting" {
			found = true
		}
	}
	if !found {
		t.Errorf("conditions = %+v, want DisruptionTarget True EvictionByEvictionAPI", got.Status.Conditions)
	}
	if err := pods.EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: "missing", Namespace: "default"}}); !apierrors.IsNotFound(err) {
		t.Errorf("evicting a missing pod: %v, want NotFound", err)
	}
	resources, err := c.Client().Discovery().ServerResourcesForGroupVersion("v1")
	if err != nil {
		t.Fatal(err)
	}
	var eviction *metav1.APIResource
	for i, r := range resources.APIResources {
		if r.Name == "pods/eviction" {
			eviction = &resources.APIResources[i]
		}
	}
	if eviction == nil || eviction.Group != "policy" || eviction.Kind != "Eviction" {
		t.Errorf("pods/eviction in discovery = %+v, want group policy kind Eviction", eviction)
	}
}

func TestBindingAssignsPodOnce(t *testing.T) {
	c := clustertest.Start(t)
	ctx := t.Context()
	pods := c.Client().CoreV1().Pods("default")
	// Another scheduler's pod: the test plays that scheduler.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Spec: corev1.PodSpec{SchedulerName: testScheduler,
		Containers: []corev1.Container{{Name: "c", Image: "i"}}}}
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bind := func(node string) error {
		return pods.Bind(ctx, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Target: corev1.ObjectReference{Kind: "Node", Name: node}}, metav1.CreateOptions{})
	}
	if err := bind("node-1"); err != nil {
		t.Fatal(err)
	}
	got, err := pods.Get(ctx, "b", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scheduled := false
	for _, cond := range got.Status.Conditions {
		scheduled = scheduled || (cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionTrue)
	}
	if got.Spec.NodeName != "node-1" || !scheduled {
		t.Errorf("after binding: nodeName %q conditions %+v, want node-1 and PodScheduled True", got.Spec.NodeName, got.Status.Conditions)
	}
	if err := bind("node-2"); !apierrors.IsConflict(err) {
		t.Errorf("second binding: %v, want 409 Conflict", err)
	}
	// The main resource cannot move a pod either.
	got.Spec.NodeName = "node-3"
	if _, err := pods.Update(ctx, got, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("changing nodeName with an update: %v, want 422", err)
	}
}

// testScheduler names a scheduler that does not run, so the built-in one
// leaves the tests' pods alone.
const testScheduler = "example.com/test-scheduler"
