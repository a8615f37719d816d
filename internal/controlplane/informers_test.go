package controlplane_test

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/jobtest"
)

// TestControllerWritesKeepManagedFields: the controllers' informers drop
// managedFields to save memory, so every write a controller makes from a
// cached copy must leave the stored managedFields alone. The Job's status
// goes through the Job controller's writes and its pods through the
// scheduler, the node and the finalizer removal; the creator's entries
// must survive all of them.
func TestControllerWritesKeepManagedFields(t *testing.T) {
	c := clustertest.Start(t)
	client := c.Client()
	ctx := t.Context()
	node := &jobtest.Node{Client: client}

	job, err := client.BatchV1().Jobs(metav1.NamespaceDefault).Create(ctx, jobtest.New("kept"), metav1.CreateOptions{FieldManager: "creator"})
	if err != nil {
		t.Fatalf("creating job: %v", err)
	}
	pod := jobtest.AwaitActive(t, client, job, 1)[0]
	if err := node.Succeed(ctx, pod); err != nil {
		t.Fatalf("succeeding %s: %v", pod.Name, err)
	}
	job = jobtest.AwaitJob(t, client, job, "complete", jobtest.Complete)

	managers := map[string]bool{}
	for _, e := range job.ManagedFields {
		managers[e.Manager+"/"+string(e.Operation)+"/"+e.Subresource] = true
	}
	if !managers["creator/Update/"] {
		t.Errorf("the creator's managedFields entry is gone after the controller's writes: %v", managers)
	}
	statusWriter := false
	for m := range managers {
		statusWriter = statusWriter || strings.HasSuffix(m, "/status")
	}
	if !statusWriter {
		t.Errorf("no managedFields entry for the controller's status writes: %v", managers)
	}
}
