package batch

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	// The tz database, compiled in: timeZone is checked with
	// time.LoadLocation (CRON-VAL-05), and a machine without
	// /usr/share/zoneinfo (a scratch container, some CI images) must
	// accept the same zones as one with it.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// maxCronJobNameLength leaves room for the 11-character suffix
// ("-<minutes since epoch>") of the Jobs a CronJob creates, whose names
// are DNS labels (CRON-VAL-01).
const maxCronJobNameLength = validation.DNS1035LabelMaxLength - 11

// Messages of the CronJob rules users see (CRON-VAL-01, CRON-VAL-04,
// CRON-VAL-05).
const (
	msgNameTooLong        = "must be no more than 52 characters"
	msgTZInSchedule       = "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
	msgTZAndTimeZone      = "cannot use both timeZone field and TZ or CRON_TZ in schedule"
	msgTimeZoneEmpty      = "timeZone must be nil or non-empty string"
	msgTimeZoneLocal      = "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"
	warnTZInScheduleFmt   = "cannot use TZ or CRON_TZ in %s, use timeZone instead, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details"
	scheduleTZMarker      = "TZ"
	localTimeZoneName     = "Local"
	timeZonePartSeparator = "/"
)

// validTimeZonePart is what one "/"-separated part of a zone name may be:
// the IANA naming rules, tolerating digits and '+' for legacy names.
var validTimeZonePart = regexp.MustCompile(`^[A-Za-z\.\-_0-9+]{1,14}$`)

// validateCronJob checks a new CronJob (CRON-VAL-01..09). Its metadata is
// the Store's to validate, except for the length limit, which applies on
// create only so that older, longer names can still be updated.
func validateCronJob(cj *batchv1.CronJob) field.ErrorList {
	errs := validateCronJobSpec(&cj.Spec, nil, field.NewPath("spec"))
	if len(cj.Name) > maxCronJobNameLength {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), cj.Name, msgNameTooLong))
	}
	return errs
}

// validateCronJobUpdate checks an update: the same spec rules, with the
// stored spec deciding the legacy schedule and time zone rules. Every
// field may change (CRON-VAL-10).
func validateCronJobUpdate(cj, old *batchv1.CronJob) field.ErrorList {
	return validateCronJobSpec(&cj.Spec, &old.Spec, field.NewPath("spec"))
}

// validateCronJobSpec is upstream's validateCronJobSpec; old is nil on
// create.
func validateCronJobSpec(spec, old *batchv1.CronJobSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.Schedule == "" {
		errs = append(errs, field.Required(p.Child("schedule"), ""))
	} else {
		legacyTZ := old != nil && strings.Contains(old.Schedule, scheduleTZMarker)
		errs = append(errs, validateSchedule(spec.Schedule, legacyTZ, spec.TimeZone, p.Child("schedule"))...)
	}
	if spec.StartingDeadlineSeconds != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(*spec.StartingDeadlineSeconds, p.Child("startingDeadlineSeconds"))...)
	}
	if old == nil || !ptr.Equal(old.TimeZone, spec.TimeZone) {
		errs = append(errs, validateTimeZone(spec.TimeZone, p.Child("timeZone"))...)
	}
	errs = append(errs, validateConcurrencyPolicy(spec.ConcurrencyPolicy, p.Child("concurrencyPolicy"))...)
	errs = append(errs, validateJobTemplateSpec(&spec.JobTemplate, p.Child("jobTemplate"))...)
	if spec.SuccessfulJobsHistoryLimit != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*spec.SuccessfulJobsHistoryLimit), p.Child("successfulJobsHistoryLimit"))...)
	}
	if spec.FailedJobsHistoryLimit != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*spec.FailedJobsHistoryLimit), p.Child("failedJobsHistoryLimit"))...)
	}
	return errs
}

// validateSchedule parses the schedule with the standard cron parser
// (CRON-VAL-03, CRON-SYN-01..04) and applies the TZ rules (CRON-VAL-04): a
// TZ= or CRON_TZ= prefix is refused unless the stored schedule already had
// one, and even then not together with timeZone.
func validateSchedule(schedule string, legacyTZ bool, timeZone *string, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if _, err := cron.ParseStandard(schedule); err != nil {
		errs = append(errs, field.Invalid(p, schedule, err.Error()))
	}
	hasTZ := strings.Contains(schedule, scheduleTZMarker)
	switch {
	case legacyTZ && hasTZ && timeZone != nil:
		errs = append(errs, field.Invalid(p, schedule, msgTZAndTimeZone))
	case !legacyTZ && hasTZ:
		errs = append(errs, field.Invalid(p, schedule, msgTZInSchedule))
	}
	return errs
}

// validateTimeZone accepts nil or an explicit zone of the tz database
// (CRON-VAL-05).
func validateTimeZone(tz *string, p *field.Path) field.ErrorList {
	if tz == nil {
		return nil
	}
	if *tz == "" {
		return field.ErrorList{field.Invalid(p, tz, msgTimeZoneEmpty)}
	}
	for _, part := range strings.Split(*tz, timeZonePartSeparator) {
		if part == "." || part == ".." || strings.HasPrefix(part, "-") || !validTimeZonePart.MatchString(part) {
			return field.ErrorList{field.Invalid(p, tz, fmt.Sprintf("unknown time zone %s", *tz))}
		}
	}
	var errs field.ErrorList
	if strings.EqualFold(*tz, localTimeZoneName) {
		errs = append(errs, field.Invalid(p, tz, msgTimeZoneLocal))
	}
	if _, err := time.LoadLocation(*tz); err != nil {
		errs = append(errs, field.Invalid(p, tz, err.Error()))
	}
	return errs
}

// validateConcurrencyPolicy accepts Allow, Forbid and Replace (CRON-VAL-07).
func validateConcurrencyPolicy(cp batchv1.ConcurrencyPolicy, p *field.Path) field.ErrorList {
	switch cp {
	case batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent:
		return nil
	case "":
		return field.ErrorList{field.Required(p, "")}
	}
	return field.ErrorList{field.NotSupported(p, cp,
		[]batchv1.ConcurrencyPolicy{batchv1.AllowConcurrent, batchv1.ForbidConcurrent, batchv1.ReplaceConcurrent})}
}

// validateJobTemplateSpec checks a CronJob's Job template as a Job spec
// without the selector rules: the selector is generated when each Job is
// created, so the template may not set one (CRON-VAL-08, CRON-VAL-09).
func validateJobTemplateSpec(t *batchv1.JobTemplateSpec, p *field.Path) field.ErrorList {
	sp := p.Child("spec")
	errs := validateJobSpec(&t.Spec, sp)
	if t.Spec.Selector != nil {
		errs = append(errs, field.Invalid(sp.Child("selector"), t.Spec.Selector, msgSelectorWillBeGenerated))
	}
	if ptr.Deref(t.Spec.ManualSelector, false) {
		errs = append(errs, field.NotSupported(sp.Child("manualSelector"), t.Spec.ManualSelector, []string{"nil", "false"}))
	}
	return errs
}
