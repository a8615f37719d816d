package job

import (
	"fmt"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// Messages of the FailureTarget condition a FailJob rule sets (JOB-PFP-10).
const (
	msgFailJobExitCode  = "Container %s for pod %s/%s failed with exit code %v matching %v rule at index %d"
	msgFailJobCondition = "Pod %s/%s has condition %v matching %v rule at index %d"
)

// policyMatch is what the pod failure policy says about one failed pod.
type policyMatch struct {
	failJob *string                         // set when a FailJob rule matched: the condition message
	count   bool                            // false when an Ignore rule matched (JOB-PFP-11)
	action  *batchv1.PodFailurePolicyAction // the matching rule's action; nil when none matched
}

// matchFailurePolicy tries the rules in order; the first match decides, no
// match means Count (JOB-PFP-07..13).
func matchFailurePolicy(policy *batchv1.PodFailurePolicy, pod *corev1.Pod) policyMatch {
	if policy == nil {
		return policyMatch{count: true}
	}
	for i, rule := range policy.Rules {
		action := rule.Action
		var msg string
		switch {
		case rule.OnExitCodes != nil:
			s := matchExitCodes(&pod.Status, rule.OnExitCodes)
			if s == nil {
				continue
			}
			msg = fmt.Sprintf(msgFailJobExitCode, s.Name, pod.Namespace, pod.Name, s.State.Terminated.ExitCode, action, i)
		case rule.OnPodConditions != nil:
			c := matchPodConditions(&pod.Status, rule.OnPodConditions)
			if c == nil {
				continue
			}
			msg = fmt.Sprintf(msgFailJobCondition, pod.Namespace, pod.Name, c.Type, action, i)
		default:
			continue
		}
		switch action {
		case batchv1.PodFailurePolicyActionIgnore:
			return policyMatch{count: false, action: &action}
		case batchv1.PodFailurePolicyActionFailIndex, batchv1.PodFailurePolicyActionCount:
			return policyMatch{count: true, action: &action}
		case batchv1.PodFailurePolicyActionFailJob:
			return policyMatch{failJob: &msg, count: true, action: &action}
		}
	}
	return policyMatch{count: true}
}

// matchExitCodes returns the first terminated container, then init
// container, with a non-zero exit code the requirement matches (JOB-PFP-08).
func matchExitCodes(status *corev1.PodStatus, req *batchv1.PodFailurePolicyOnExitCodesRequirement) *corev1.ContainerStatus {
	if s := matchContainers(status.ContainerStatuses, req); s != nil {
		return s
	}
	return matchContainers(status.InitContainerStatuses, req)
}

func matchContainers(statuses []corev1.ContainerStatus, req *batchv1.PodFailurePolicyOnExitCodesRequirement) *corev1.ContainerStatus {
	for i := range statuses {
		s := &statuses[i]
		t := s.State.Terminated
		if t == nil || t.ExitCode == 0 {
			continue
		}
		if req.ContainerName != nil && *req.ContainerName != s.Name {
			continue
		}
		in := slices.Contains(req.Values, t.ExitCode)
		switch req.Operator {
		case batchv1.PodFailurePolicyOnExitCodesOpIn:
			if in {
				return s
			}
		case batchv1.PodFailurePolicyOnExitCodesOpNotIn:
			if !in {
				return s
			}
		}
	}
	return nil
}

// matchPodConditions returns the pod's first condition whose type and
// status equal one of the patterns (JOB-PFP-09).
func matchPodConditions(status *corev1.PodStatus, patterns []batchv1.PodFailurePolicyOnPodConditionsPattern) *corev1.PodCondition {
	for i := range status.Conditions {
		c := &status.Conditions[i]
		for _, p := range patterns {
			if c.Type == p.Type && c.Status == p.Status {
				return c
			}
		}
	}
	return nil
}

// failJobMessage returns the message of the first failed pod that matches a
// FailJob rule, if any.
func failJobMessage(job *batchv1.Job, pods []*corev1.Pod) *string {
	if job.Spec.PodFailurePolicy == nil {
		return nil
	}
	for _, p := range pods {
		if isFailed(p, job) {
			if m := matchFailurePolicy(job.Spec.PodFailurePolicy, p); m.failJob != nil {
				return m.failJob
			}
		}
	}
	return nil
}

// countedFailures is how many of the failed pods count toward the limits:
// all but those an Ignore rule matched (JOB-BL-01, JOB-TRK-08).
func countedFailures(job *batchv1.Job, failed []*corev1.Pod) int32 {
	n := int32(len(failed))
	if job.Spec.PodFailurePolicy != nil {
		for _, p := range failed {
			if !matchFailurePolicy(job.Spec.PodFailurePolicy, p).count {
				n--
			}
		}
	}
	return n
}
