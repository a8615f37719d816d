package job_test

import (
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/batchd/batchd/internal/clustertest"
	"github.com/batchd/batchd/internal/jobtest"
)

// TestPolicyValidation checks through the API the rules of the policies
// the controller relies on (validation itself lives in registry/batch).
func TestPolicyValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, clustertest.Start(t))
	exit := func(op batchv1.PodFailurePolicyOnExitCodesOperator, v ...int32) batchv1.PodFailurePolicyRule {
		return jobtest.OnExitCodes(batchv1.PodFailurePolicyActionFailJob, "", op, v...)
	}
	many := make([]batchv1.PodFailurePolicyRule, 21)
	for i := range many {
		many[i] = exit(batchv1.PodFailurePolicyOnExitCodesOpIn, 1)
	}
	tests := []struct {
		name string
		opts []jobtest.Option
		want string
	}{
		{"JOB-PFP-01 at most 20 rules", []jobtest.Option{jobtest.PodFailurePolicy(many...)}, "must have at most 20 items"},
		{"JOB-PFP-02 action is required", []jobtest.Option{jobtest.PodFailurePolicy(batchv1.PodFailurePolicyRule{OnExitCodes: exit(batchv1.PodFailurePolicyOnExitCodesOpIn, 1).OnExitCodes})}, "Required value"},
		{"JOB-PFP-02 FailIndex requires backoffLimitPerIndex", []jobtest.Option{jobtest.PodFailurePolicy(jobtest.OnExitCodes(batchv1.PodFailurePolicyActionFailIndex, "", batchv1.PodFailurePolicyOnExitCodesOpIn, 1))}, "requires the backoffLimitPerIndex to be set"},
		{"JOB-PFP-03 both requirements", []jobtest.Option{jobtest.PodFailurePolicy(func() batchv1.PodFailurePolicyRule {
			r := exit(batchv1.PodFailurePolicyOnExitCodesOpIn, 1)
			r.OnPodConditions = jobtest.OnConditions(batchv1.PodFailurePolicyActionFailJob, corev1.DisruptionTarget).OnPodConditions
			return r
		}())}, "specifying both OnExitCodes and OnPodConditions is not supported"},
		{"JOB-PFP-04 In with 0", []jobtest.Option{jobtest.PodFailurePolicy(exit(batchv1.PodFailurePolicyOnExitCodesOpIn, 0))}, "must not be 0 for the In operator"},
		{"JOB-PFP-04 unordered values", []jobtest.Option{jobtest.PodFailurePolicy(exit(batchv1.PodFailurePolicyOnExitCodesOpIn, 3, 2))}, "must be ordered"},
		{"JOB-PFP-04 unknown container", []jobtest.Option{jobtest.PodFailurePolicy(jobtest.OnExitCodes(batchv1.PodFailurePolicyActionFailJob, "nope", batchv1.PodFailurePolicyOnExitCodesOpIn, 1))}, "must be one of the container or initContainer names in the pod template"},
		{"JOB-PFP-05 condition status", []jobtest.Option{jobtest.PodFailurePolicy(batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionIgnore,
			OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: corev1.DisruptionTarget, Status: "Maybe"}}})}, "Unsupported value"},
		{"JOB-PFP-06 OnFailure restart policy", []jobtest.Option{jobtest.RestartPolicy(corev1.RestartPolicyOnFailure), jobtest.PodFailurePolicy(exit(batchv1.PodFailurePolicyOnExitCodesOpIn, 1))}, `only "Never" is supported when podFailurePolicy is specified`},
		{"JOB-SP-01 success policy needs Indexed", []jobtest.Option{jobtest.SuccessPolicy(jobtest.SucceededCount(1))}, "requires indexed completion mode"},
		{"JOB-SP-02 at least one rule", []jobtest.Option{jobtest.Indexed(), jobtest.Completions(3), jobtest.SuccessPolicy()}, "at least one rules must be specified when the successPolicy is specified"},
		{"JOB-SP-03 rule needs indexes or count", []jobtest.Option{jobtest.Indexed(), jobtest.Completions(3), jobtest.SuccessPolicy(batchv1.SuccessPolicyRule{})}, "at least one of succeededCount or succeededIndexes must be specified"},
		{"JOB-SP-04 index too large", []jobtest.Option{jobtest.Indexed(), jobtest.Completions(3), jobtest.SuccessPolicy(jobtest.SucceededIndexes("7", -1))}, "error parsing succeededIndexes"},
		{"JOB-SP-05 count above completions", []jobtest.Option{jobtest.Indexed(), jobtest.Completions(3), jobtest.SuccessPolicy(jobtest.SucceededCount(4))}, "must be less than or equal to 3 (the number of specified completions)"},
		{"JOB-MB-03 managedBy too long", []jobtest.Option{jobtest.ManagedBy("example.com/" + strings.Repeat("x", 60))}, "Too long"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := e.job("v"+string(rune('a'+i)), tt.opts...)
			_, err := e.c.BatchV1().Jobs(e.ns).Create(t.Context(), job, metav1.CreateOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("create error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	t.Run("JOB-MB-03 managedBy is immutable", func(t *testing.T) {
		job := e.create(t, "mbi", jobtest.ManagedBy("example.com/a"))
		job.Spec.ManagedBy = ptr.To("example.com/b")
		if _, err := e.c.BatchV1().Jobs(e.ns).Update(t.Context(), job, metav1.UpdateOptions{}); err == nil || !strings.Contains(err.Error(), "field is immutable") {
			t.Errorf("update error = %v", err)
		}
	})
}
