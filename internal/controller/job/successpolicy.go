package job

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// matchSuccessPolicy returns the SuccessCriteriaMet message of the first
// rule the succeeded indexes satisfy (JOB-SP-06, JOB-SP-07).
func matchSuccessPolicy(policy *batchv1.SuccessPolicy, completions int32, succeeded intervals) (string, bool) {
	if policy == nil || len(succeeded) == 0 {
		return "", false
	}
	for i, rule := range policy.Rules {
		if rule.SucceededIndexes != nil {
			required := parseIntervals(*rule.SucceededIndexes, int(completions))
			if len(required) == 0 {
				continue
			}
			if matchSucceededIndexes(required, succeeded, rule.SucceededCount) {
				return fmt.Sprintf(msgMatchedRules, i), true
			}
		} else if rule.SucceededCount != nil && succeeded.total() >= int(*rule.SucceededCount) {
			return fmt.Sprintf(msgMatchedRules, i), true
		}
	}
	return "", false
}

// matchSucceededIndexes: every required index succeeded, or, with a count,
// at least that many of them did.
func matchSucceededIndexes(required, succeeded intervals, count *int32) bool {
	contains, r, s := 0, 0, 0
	for r < len(required) && s < len(succeeded) {
		if overlap := min(required[r].last, succeeded[s].last) - max(required[r].first, succeeded[s].first) + 1; overlap > 0 {
			contains += overlap
		}
		switch {
		case succeeded[s].last < required[r].last:
			s++
		case succeeded[s].last > required[r].last:
			r++
		default:
			s++
			r++
		}
	}
	return contains == required.total() || (count != nil && contains >= int(*count))
}

func findCondition(list []batchv1.JobCondition, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range list {
		if list[i].Type == t {
			return &list[i]
		}
	}
	return nil
}

func conditionTrue(list []batchv1.JobCondition, t batchv1.JobConditionType) *batchv1.JobCondition {
	if c := findCondition(list, t); c != nil && c.Status == corev1.ConditionTrue {
		return c
	}
	return nil
}
