package batch

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// statusChecks says which of the status rules apply to one update of
// jobs/status. Most rules apply only when the fields they guard change in
// that update (JOB-SVAL "on change"): a status that an earlier spec change
// made inconsistent (completed indexes above a scaled-down completions)
// must not block the writes that repair it.
type statusChecks struct {
	decreasingSucceeded          bool
	completedIndexesFormat       bool
	failedIndexesFormat          bool
	completedIndexesNonIndexed   bool
	failedIndexesWithoutPerIndex bool
	indexesOverlap               bool
	failedWithoutFailureTarget   bool
	completeWithoutCriteriaMet   bool
	finishedWithActive           bool
	finishedWithoutStartTime     bool
	finishedWithUncounted        bool
	startTimeChange              bool
	completionTimeBeforeStart    bool
	notCompleteWithCompletion    bool
	completeWithoutCompletion    bool
	completeAndFailed            bool
	completeAndFailureTarget     bool
	moreReadyThanActive          bool
	finishedWithTerminating      bool
}

func statusChecksFor(job, old *batchv1.Job) statusChecks {
	s, o := &job.Status, &old.Status
	conds, oldConds := s.Conditions, o.Conditions
	changed := func(t batchv1.JobConditionType) bool {
		return conditionTrue(conds, t) != conditionTrue(oldConds, t)
	}
	finishedChanged := jobFinished(job) != jobFinished(old)
	completeChanged := changed(batchv1.JobComplete)
	failedChanged := changed(batchv1.JobFailed)
	completedIndexesChanged := s.CompletedIndexes != o.CompletedIndexes
	failedIndexesChanged := !ptr.Equal(s.FailedIndexes, o.FailedIndexes)
	activeChanged := s.Active != o.Active
	startTimeChanged := !s.StartTime.Equal(o.StartTime)
	completionTimeChanged := !s.CompletionTime.Equal(o.CompletionTime)
	// A Job resumes when the controller flips Suspended from True to False;
	// it then restarts the clock.
	resuming := conditionTrue(oldConds, batchv1.JobSuspended) && conditionIs(conds, batchv1.JobSuspended, corev1.ConditionFalse)
	suspendedWithoutCompletions := ptr.Deref(job.Spec.Suspend, false) && ptr.Deref(job.Spec.Completions, -1) == 0
	indexed := ptr.Deref(job.Spec.CompletionMode, batchv1.NonIndexedCompletion) == batchv1.IndexedCompletion
	return statusChecks{
		// An Indexed Job whose completions move with parallelism may be
		// scaled down, losing succeeded indexes.
		decreasingSucceeded:          !indexed || !ptr.Equal(job.Spec.Completions, job.Spec.Parallelism),
		completedIndexesFormat:       completedIndexesChanged,
		failedIndexesFormat:          failedIndexesChanged,
		completedIndexesNonIndexed:   completedIndexesChanged,
		failedIndexesWithoutPerIndex: failedIndexesChanged,
		indexesOverlap:               failedIndexesChanged || completedIndexesChanged,
		failedWithoutFailureTarget:   failedChanged || failedIndexesChanged,
		completeWithoutCriteriaMet:   completeChanged || changed(batchv1.JobSuccessCriteriaMet),
		finishedWithActive:           finishedChanged || activeChanged,
		finishedWithoutStartTime:     (finishedChanged || startTimeChanged) && !suspendedWithoutCompletions,
		finishedWithUncounted:        finishedChanged || !apiequality.Semantic.DeepEqual(s.UncountedTerminatedPods, o.UncountedTerminatedPods),
		startTimeChange:              startTimeChanged && !resuming,
		completionTimeBeforeStart:    startTimeChanged || completionTimeChanged,
		notCompleteWithCompletion:    completeChanged || completionTimeChanged,
		completeWithoutCompletion:    completeChanged || completionTimeChanged,
		completeAndFailed:            completeChanged || failedChanged,
		completeAndFailureTarget:     completeChanged || changed(batchv1.JobFailureTarget),
		moreReadyThanActive:          !ptr.Equal(s.Ready, o.Ready) || activeChanged,
		finishedWithTerminating:      finishedChanged || !ptr.Equal(s.Terminating, o.Terminating),
	}
}

// validateJobStatusUpdate checks a write to jobs/status (JOB-SVAL-01..10).
func validateJobStatusUpdate(job, old *batchv1.Job) field.ErrorList {
	c := statusChecksFor(job, old)
	errs := validateJobStatus(job, c)
	p := field.NewPath("status")
	conds := p.Child("conditions")
	for _, t := range []batchv1.JobConditionType{batchv1.JobFailed, batchv1.JobComplete, batchv1.JobFailureTarget} {
		if conditionTrue(old.Status.Conditions, t) && !conditionTrue(job.Status.Conditions, t) {
			errs = append(errs, field.Invalid(conds, field.OmitValueType{}, fmt.Sprintf("cannot disable the terminal %s=True condition", t)))
		}
	}
	if job.Status.Failed < old.Status.Failed {
		errs = append(errs, field.Invalid(p.Child("failed"), job.Status.Failed, "cannot decrease the failed counter"))
	}
	if c.decreasingSucceeded && job.Status.Succeeded < old.Status.Succeeded {
		errs = append(errs, field.Invalid(p.Child("succeeded"), job.Status.Succeeded, "cannot decrease the succeeded counter"))
	}
	// A set completionTime stays; clearing it is caught by the Complete rules.
	if ct, oldCT := job.Status.CompletionTime, old.Status.CompletionTime; ct != nil && oldCT != nil && !ct.Equal(oldCT) {
		errs = append(errs, field.Invalid(p.Child("completionTime"), ct, apivalidation.FieldImmutableErrorMsg))
	}
	if c.startTimeChange && old.Status.StartTime != nil && !old.Status.StartTime.Equal(job.Status.StartTime) && !ptr.Deref(job.Spec.Suspend, false) {
		errs = append(errs, field.Invalid(p.Child("startTime"), job.Status.StartTime, "field is immutable for unsuspended job once set"))
	}
	if conditionTrue(old.Status.Conditions, batchv1.JobSuccessCriteriaMet) && !conditionTrue(job.Status.Conditions, batchv1.JobSuccessCriteriaMet) {
		errs = append(errs, field.Invalid(conds, field.OmitValueType{}, "cannot disable the SuccessCriteriaMet=True condition"))
	}
	if conditionTrue(old.Status.Conditions, batchv1.JobComplete) && !conditionTrue(old.Status.Conditions, batchv1.JobSuccessCriteriaMet) &&
		conditionTrue(job.Status.Conditions, batchv1.JobSuccessCriteriaMet) {
		errs = append(errs, field.Invalid(conds, field.OmitValueType{}, "cannot set SuccessCriteriaMet=True for Job already has Complete=true conditions"))
	}
	return errs
}

// validateJobStatus checks the status alone, with the rules c enables.
func validateJobStatus(job *batchv1.Job, c statusChecks) field.ErrorList {
	s := &job.Status
	p := field.NewPath("status")
	conds := p.Child("conditions")
	errs := apivalidation.ValidateNonnegativeField(int64(s.Active), p.Child("active"))
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(s.Succeeded), p.Child("succeeded"))...)
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(s.Failed), p.Child("failed"))...)
	if s.Ready != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*s.Ready), p.Child("ready"))...)
	}
	if s.Terminating != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*s.Terminating), p.Child("terminating"))...)
	}
	errs = append(errs, validateUncounted(s.UncountedTerminatedPods, p.Child("uncountedTerminatedPods"))...)

	complete, failed := conditionTrue(s.Conditions, batchv1.JobComplete), conditionTrue(s.Conditions, batchv1.JobFailed)
	failureTarget := conditionTrue(s.Conditions, batchv1.JobFailureTarget)
	criteriaMet := conditionTrue(s.Conditions, batchv1.JobSuccessCriteriaMet)
	finished := complete || failed
	if c.completeAndFailed && complete && failed {
		errs = append(errs, field.Invalid(conds, field.OmitValueType{}, "cannot set Complete=True and Failed=true conditions"))
	}
	if c.completeAndFailureTarget && complete && failureTarget {
		errs = append(errs, field.Invalid(conds, field.OmitValueType{}, "cannot set Complete=True and FailureTarget=true conditions"))
	}
	if c.notCompleteWithCompletion && s.CompletionTime != nil && !complete {
		errs = append(errs, field.Invalid(p.Child("completionTime"), s.CompletionTime, "cannot set completionTime when there is no Complete=True condition"))
	}
	if c.completeWithoutCompletion && s.CompletionTime == nil && complete {
		errs = append(errs, field.Required(p.Child("completionTime"), "completionTime is required for Complete jobs"))
	}
	if c.completionTimeBeforeStart && s.StartTime != nil && s.CompletionTime != nil && s.CompletionTime.Before(s.StartTime) {
		errs = append(errs, field.Invalid(p.Child("completionTime"), s.CompletionTime, "must be equal to or after `startTime`"))
	}
	if c.failedWithoutFailureTarget && failed && !failureTarget {
		errs = append(errs, field.Invalid(conds, field.OmitValueType{}, "cannot set Failed=True condition without the FailureTarget=true condition"))
	}
	if c.completeWithoutCriteriaMet && complete && !criteriaMet {
		errs = append(errs, field.Invalid(conds, field.OmitValueType{}, "cannot set Complete=True condition without the SuccessCriteriaMet=true condition"))
	}
	if c.finishedWithActive && finished && s.Active > 0 {
		errs = append(errs, field.Invalid(p.Child("active"), s.Active, "active>0 is invalid for finished job"))
	}
	if c.finishedWithoutStartTime && finished && s.StartTime == nil {
		errs = append(errs, field.Required(p.Child("startTime"), "startTime is required for finished job"))
	}
	if u := s.UncountedTerminatedPods; c.finishedWithUncounted && finished && u != nil && len(u.Succeeded)+len(u.Failed) > 0 {
		errs = append(errs, field.Invalid(p.Child("uncountedTerminatedPods"), u, "must be empty for finished job"))
	}
	errs = append(errs, validateStatusIndexes(job, c)...)
	if c.finishedWithTerminating && finished && ptr.Deref(s.Terminating, 0) > 0 {
		errs = append(errs, field.Invalid(p.Child("terminating"), *s.Terminating, "terminating>0 is invalid for finished job"))
	}
	if c.moreReadyThanActive && s.Ready != nil && *s.Ready > s.Active {
		errs = append(errs, field.Invalid(p.Child("ready"), *s.Ready, "cannot set more ready pods than active"))
	}
	if criteriaMet && failed {
		errs = append(errs, field.Invalid(conds, field.OmitValueType{}, "cannot set SuccessCriteriaMet=True and Failed=true conditions"))
	}
	if criteriaMet && failureTarget {
		errs = append(errs, field.Invalid(conds, field.OmitValueType{}, "cannot set SuccessCriteriaMet=True and FailureTarget=true conditions"))
	}
	if job.Spec.SuccessPolicy != nil && !criteriaMet && complete {
		errs = append(errs, field.Invalid(conds, field.OmitValueType{}, "cannot set Complete=True for Job with SuccessPolicy unless SuccessCriteriaMet=True"))
	}
	return errs
}

// validateUncounted requires the uncounted pod UIDs to be set and listed
// once across both lists (JOB-SVAL-01).
func validateUncounted(u *batchv1.UncountedTerminatedPods, p *field.Path) field.ErrorList {
	if u == nil {
		return nil
	}
	var errs field.ErrorList
	seen := sets.New[types.UID]()
	check := func(uids []types.UID, lp *field.Path) {
		for i, uid := range uids {
			switch {
			case uid == "":
				errs = append(errs, field.Invalid(lp.Index(i), uid, "must not be empty"))
			case seen.Has(uid):
				errs = append(errs, field.Duplicate(lp.Index(i), uid))
			default:
				seen.Insert(uid)
			}
		}
	}
	check(u.Succeeded, p.Child("succeeded"))
	check(u.Failed, p.Child("failed"))
	return errs
}

// validateStatusIndexes checks completedIndexes and failedIndexes
// (JOB-SVAL-09).
func validateStatusIndexes(job *batchv1.Job, c statusChecks) field.ErrorList {
	var errs field.ErrorList
	s, p := &job.Status, field.NewPath("status")
	completions, hasCompletions := ptr.Deref(job.Spec.Completions, 0), job.Spec.Completions != nil
	if c.completedIndexesFormat && hasCompletions {
		if _, err := indexesCount(s.CompletedIndexes, completions); err != nil {
			errs = append(errs, field.Invalid(p.Child("completedIndexes"), s.CompletedIndexes, fmt.Sprintf("error parsing completedIndexes: %s", err)))
		}
	}
	if c.failedIndexesFormat && hasCompletions && job.Spec.BackoffLimitPerIndex != nil && s.FailedIndexes != nil {
		if _, err := indexesCount(*s.FailedIndexes, completions); err != nil {
			errs = append(errs, field.Invalid(p.Child("failedIndexes"), s.FailedIndexes, fmt.Sprintf("error parsing failedIndexes: %s", err)))
		}
	}
	indexed := ptr.Deref(job.Spec.CompletionMode, batchv1.NonIndexedCompletion) == batchv1.IndexedCompletion
	if c.completedIndexesNonIndexed && s.CompletedIndexes != "" && !indexed {
		errs = append(errs, field.Invalid(p.Child("completedIndexes"), s.CompletedIndexes, "cannot set non-empty completedIndexes when non-indexed completion mode"))
	}
	if c.failedIndexesWithoutPerIndex && job.Spec.BackoffLimitPerIndex == nil && s.FailedIndexes != nil {
		errs = append(errs, field.Invalid(p.Child("failedIndexes"), *s.FailedIndexes, "cannot set non-null failedIndexes when backoffLimitPerIndex is null"))
	}
	if c.indexesOverlap && hasCompletions && s.FailedIndexes != nil {
		if err := indexesOverlap(s.CompletedIndexes, *s.FailedIndexes, completions); err != nil {
			errs = append(errs, field.Invalid(p.Child("failedIndexes"), *s.FailedIndexes, err.Error()))
		}
	}
	return errs
}

// jobFinished reports whether the Job has Complete=True or Failed=True.
func jobFinished(job *batchv1.Job) bool {
	return conditionTrue(job.Status.Conditions, batchv1.JobComplete) || conditionTrue(job.Status.Conditions, batchv1.JobFailed)
}
