package batch

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestJobNameRule(t *testing.T) {
	t.Run("JOB-VAL-01 the Store checks Job names as DNS subdomains", func(t *testing.T) {
		// A nil NameValidation makes the Store use upstream's
		// NameIsDNSSubdomain, as ValidateJob does (ValidateReplicationControllerName).
		if jobResource().NameValidation != nil {
			t.Errorf("jobs have a NameValidation of their own; want the Store's DNS subdomain rule")
		}
	})
}

func TestValidateJob(t *testing.T) {
	never, onFailure := corev1.RestartPolicyNever, corev1.RestartPolicyOnFailure
	ignoreDisruptions := &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{disruptionRule(corev1.ConditionTrue)}}
	longName := strings.Repeat("a", 60)
	tests := []struct {
		name string
		job  *batchv1.Job
		want []string
	}{
		{
			name: "JOB-VAL-03 parallelism must be non-negative",
			job:  created(clientJob(func(j *batchv1.Job) { j.Spec.Parallelism = ptr.To[int32](-1) })),
			want: []string{"spec.parallelism: Invalid value: -1: must be greater than or equal to 0"},
		},
		{
			name: "JOB-VAL-03 completions deadline backoffLimit and ttl must be non-negative",
			job: created(clientJob(func(j *batchv1.Job) {
				j.Spec.Completions = ptr.To[int32](-1)
				j.Spec.ActiveDeadlineSeconds = ptr.To[int64](-2)
				j.Spec.BackoffLimit = ptr.To[int32](-3)
				j.Spec.TTLSecondsAfterFinished = ptr.To[int32](-4)
			})),
			want: []string{
				"spec.completions: Invalid value: -1: must be greater than or equal to 0",
				"spec.activeDeadlineSeconds: Invalid value: -2: must be greater than or equal to 0",
				"spec.backoffLimit: Invalid value: -3: must be greater than or equal to 0",
				"spec.ttlSecondsAfterFinished: Invalid value: -4: must be greater than or equal to 0",
			},
		},
		{
			name: "JOB-VAL-03 backoffLimitPerIndex and maxFailedIndexes must be non-negative",
			job: created(clientJob(indexed(2), func(j *batchv1.Job) {
				j.Spec.BackoffLimitPerIndex = ptr.To[int32](-1)
				j.Spec.MaxFailedIndexes = ptr.To[int32](-1)
			})),
			want: []string{
				"spec.backoffLimitPerIndex: Invalid value: -1: must be greater than or equal to 0",
				"spec.maxFailedIndexes: Invalid value: -1: must be greater than or equal to 0",
			},
		},
		{
			name: "JOB-VAL-03 zero is accepted everywhere",
			job: created(clientJob(indexed(0), func(j *batchv1.Job) {
				j.Spec.ActiveDeadlineSeconds = ptr.To[int64](0)
				j.Spec.BackoffLimit = ptr.To[int32](0)
				j.Spec.TTLSecondsAfterFinished = ptr.To[int32](0)
				j.Spec.BackoffLimitPerIndex = ptr.To[int32](0)
				j.Spec.MaxFailedIndexes = ptr.To[int32](0)
			})),
		},
		{
			name: "JOB-VAL-04 an omitted restartPolicy defaults to Always and is refused",
			job:  created(clientJob(func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = "" })),
			want: []string{`spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`},
		},
		{
			name: "JOB-VAL-04 restartPolicy Always is refused",
			job:  created(clientJob(func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways })),
			want: []string{`spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`},
		},
		{
			name: "JOB-VAL-04 an unknown restartPolicy is unsupported for pods and for Jobs",
			job:  created(clientJob(func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = "Sometimes" })),
			want: []string{
				`spec.template.spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`,
				`spec.template.spec.restartPolicy: Unsupported value: "Sometimes": supported values: "OnFailure", "Never"`,
			},
		},
		{
			name: "JOB-VAL-04 OnFailure is accepted",
			job:  created(clientJob(func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = onFailure })),
		},
		{
			name: "JOB-VAL-05 a podFailurePolicy needs restartPolicy Never",
			job: created(clientJob(func(j *batchv1.Job) {
				j.Spec.Template.Spec.RestartPolicy = onFailure
				j.Spec.PodFailurePolicy = ignoreDisruptions.DeepCopy()
			})),
			want: []string{`spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified`},
		},
		{
			name: "JOB-VAL-05 a podFailurePolicy with Never is accepted",
			job: created(clientJob(func(j *batchv1.Job) {
				j.Spec.Template.Spec.RestartPolicy = never
				j.Spec.PodFailurePolicy = ignoreDisruptions.DeepCopy()
			})),
		},
		{
			name: "JOB-VAL-06 completionMode must be NonIndexed or Indexed",
			job:  created(clientJob(func(j *batchv1.Job) { j.Spec.CompletionMode = ptr.To[batchv1.CompletionMode]("Sequential") })),
			want: []string{`spec.completionMode: Unsupported value: "Sequential": supported values: "NonIndexed", "Indexed"`},
		},
		{
			name: "JOB-VAL-07 Indexed requires completions",
			job: created(clientJob(func(j *batchv1.Job) {
				j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
				j.Spec.Parallelism = ptr.To[int32](2)
			})),
			want: []string{"spec.completions: Required value: when completion mode is Indexed"},
		},
		{
			name: "JOB-VAL-08 Indexed parallelism is at most 100000",
			job:  created(clientJob(indexed(100_001))),
			want: []string{"spec.parallelism: Invalid value: 100001: must be less than or equal to 100000 when completion mode is Indexed"},
		},
		{
			name: "JOB-VAL-08 Indexed parallelism of 100000 is accepted",
			job:  created(clientJob(indexed(100_000))),
		},
		{
			name: "JOB-VAL-09 the last Indexed pod hostname must be a DNS label",
			job:  created(clientJob(indexed(1000), func(j *batchv1.Job) { j.Name = longName })),
			want: []string{`metadata.name: Invalid value: "` + longName + `": will not able to create pod with invalid DNS label: ` + longName + "-999"},
		},
		{
			name: "JOB-VAL-09 a hostname of exactly 63 characters is accepted",
			job:  created(clientJob(indexed(100), func(j *batchv1.Job) { j.Name = longName })),
		},
		{
			name: "JOB-VAL-10 backoffLimitPerIndex and maxFailedIndexes need Indexed",
			job: created(clientJob(func(j *batchv1.Job) {
				j.Spec.BackoffLimitPerIndex = ptr.To[int32](1)
				j.Spec.MaxFailedIndexes = ptr.To[int32](1)
			})),
			want: []string{
				"spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode",
				"spec.maxFailedIndexes: Invalid value: 1: requires indexed completion mode",
			},
		},
		{
			name: "JOB-VAL-11 maxFailedIndexes needs backoffLimitPerIndex",
			job:  created(clientJob(indexed(4), func(j *batchv1.Job) { j.Spec.MaxFailedIndexes = ptr.To[int32](1) })),
			want: []string{"spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified"},
		},
		{
			name: "JOB-VAL-11 maxFailedIndexes is at most completions",
			job: created(clientJob(indexed(2), func(j *batchv1.Job) {
				j.Spec.BackoffLimitPerIndex = ptr.To[int32](1)
				j.Spec.MaxFailedIndexes = ptr.To[int32](3)
			})),
			want: []string{"spec.maxFailedIndexes: Invalid value: 3: must be less than or equal to completions"},
		},
		{
			name: "JOB-VAL-11 maxFailedIndexes is at most 100000",
			job: created(clientJob(indexed(100_000), func(j *batchv1.Job) {
				j.Spec.BackoffLimitPerIndex = ptr.To[int32](1)
				j.Spec.MaxFailedIndexes = ptr.To[int32](100_001)
			})),
			want: []string{
				"spec.maxFailedIndexes: Invalid value: 100001: must be less than or equal to completions",
				"spec.maxFailedIndexes: Invalid value: 100001: must be less than or equal to 100000",
			},
		},
		{
			name: "JOB-VAL-12 completions above 100000 are accepted without backoffLimitPerIndex",
			job:  created(clientJob(indexed(200_000), func(j *batchv1.Job) { j.Spec.Parallelism = ptr.To[int32](50_000) })),
		},
		{
			name: "JOB-VAL-12 above 100000 completions backoffLimitPerIndex needs maxFailedIndexes and parallelism of at most 10000",
			job: created(clientJob(indexed(200_000), func(j *batchv1.Job) {
				j.Spec.Parallelism = ptr.To[int32](10_001)
				j.Spec.BackoffLimitPerIndex = ptr.To[int32](1)
			})),
			want: []string{
				"spec.maxFailedIndexes: Required value: must be specified when completions is above 100000",
				"spec.parallelism: Invalid value: 10001: must be less than or equal to 10000 when completions are above 100000 and used with backoff limit per index",
			},
		},
		{
			name: "JOB-VAL-12 above 100000 completions maxFailedIndexes is at most 10000",
			job: created(clientJob(indexed(200_000), func(j *batchv1.Job) {
				j.Spec.Parallelism = ptr.To[int32](10_000)
				j.Spec.BackoffLimitPerIndex = ptr.To[int32](1)
				j.Spec.MaxFailedIndexes = ptr.To[int32](10_001)
			})),
			want: []string{
				"spec.maxFailedIndexes: Invalid value: 10001: must be less than or equal to 10000 when completions are above 100000 and used with backoff limit per index",
			},
		},
		{
			name: "JOB-VAL-14 podReplacementPolicy must be Failed or TerminatingOrFailed",
			job:  created(clientJob(func(j *batchv1.Job) { j.Spec.PodReplacementPolicy = ptr.To[batchv1.PodReplacementPolicy]("Sometimes") })),
			want: []string{`spec.podReplacementPolicy: Unsupported value: "Sometimes": supported values: "Failed", "TerminatingOrFailed"`},
		},
		{
			name: "JOB-VAL-14 with a podFailurePolicy only Failed is supported",
			job: created(clientJob(func(j *batchv1.Job) {
				j.Spec.PodFailurePolicy = ignoreDisruptions.DeepCopy()
				j.Spec.PodReplacementPolicy = ptr.To(batchv1.TerminatingOrFailed)
			})),
			want: []string{`spec.podReplacementPolicy: Unsupported value: "TerminatingOrFailed": supported values: "Failed"`},
		},
		{
			name: "JOB-VAL-15 managedBy must be a domain-prefixed path",
			job:  created(clientJob(func(j *batchv1.Job) { j.Spec.ManagedBy = ptr.To("queue") })),
			want: []string{`spec.managedBy: Invalid value: "queue": must be a domain-prefixed path (such as "acme.io/foo")`},
		},
		{
			name: "JOB-VAL-15 managedBy is at most 63 characters",
			job:  created(clientJob(func(j *batchv1.Job) { j.Spec.ManagedBy = ptr.To("acme.io/" + strings.Repeat("q", 56)) })),
			want: []string{"spec.managedBy: Too long: may not be more than 63 bytes"},
		},
		{
			name: "JOB-VAL-15 the built-in controller's name is accepted",
			job:  created(clientJob(func(j *batchv1.Job) { j.Spec.ManagedBy = ptr.To(batchv1.JobControllerName) })),
		},
		{
			name: "JOB-VAL-16 the template labels and annotations are validated",
			job: created(clientJob(func(j *batchv1.Job) {
				j.Spec.Template.Labels = map[string]string{"bad key": "v"}
				j.Spec.Template.Annotations = map[string]string{"-bad": "v"}
			})),
			want: []string{
				`spec.template.labels: Invalid value: "bad key": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
				`spec.template.annotations: Invalid value: "-bad": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
			},
		},
		{
			name: "JOB-VAL-16 the pod spec is validated",
			job:  created(clientJob(func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Image = "" })),
			want: []string{"spec.template.spec.containers[0].image: Required value"},
		},
		{
			name: "JOB-VAL-16 ephemeral containers are forbidden",
			job: created(clientJob(func(j *batchv1.Job) {
				j.Spec.Template.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox"}}}
			})),
			want: []string{"spec.template.spec.ephemeralContainers: Forbidden: ephemeral containers not allowed in pod template"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := errStrings(validateJob(tt.job, jobOptions{requirePrefixedLabels: true}))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("validateJob() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateJobPolicies(t *testing.T) {
	rule := func(action batchv1.PodFailurePolicyAction, codes ...int32) batchv1.PodFailurePolicyRule {
		return batchv1.PodFailurePolicyRule{Action: action, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
			Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: codes}}
	}
	withRules := func(rules ...batchv1.PodFailurePolicyRule) func(*batchv1.Job) {
		return func(j *batchv1.Job) { j.Spec.PodFailurePolicy = &batchv1.PodFailurePolicy{Rules: rules} }
	}
	successRules := func(rules ...batchv1.SuccessPolicyRule) func(*batchv1.Job) {
		return func(j *batchv1.Job) { j.Spec.SuccessPolicy = &batchv1.SuccessPolicy{Rules: rules} }
	}
	tooManyRules := make([]batchv1.PodFailurePolicyRule, 21)
	for i := range tooManyRules {
		tooManyRules[i] = rule(batchv1.PodFailurePolicyActionFailJob, 1)
	}
	tests := []struct {
		name string
		job  *batchv1.Job
		want []string
	}{
		{
			name: "JOB-PFP-01 at most 20 rules",
			job:  created(clientJob(withRules(tooManyRules...))),
			want: []string{"spec.podFailurePolicy.rules: Too many: 21: must have at most 20 items"},
		},
		{
			name: "JOB-PFP-02 action is required and known",
			job:  created(clientJob(withRules(rule("", 1), rule("Retry", 2)))),
			want: []string{
				`spec.podFailurePolicy.rules[0].action: Required value: valid values: ["Count" "FailIndex" "FailJob" "Ignore"]`,
				`spec.podFailurePolicy.rules[1].action: Unsupported value: "Retry": supported values: "Count", "FailIndex", "FailJob", "Ignore"`,
			},
		},
		{
			name: "JOB-PFP-02 FailIndex needs backoffLimitPerIndex",
			job:  created(clientJob(indexed(2), withRules(rule(batchv1.PodFailurePolicyActionFailIndex, 1)))),
			want: []string{`spec.podFailurePolicy.rules[0].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set`},
		},
		{
			name: "JOB-PFP-03 exactly one of onExitCodes and onPodConditions",
			job: created(clientJob(withRules(
				batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionIgnore},
				func() batchv1.PodFailurePolicyRule {
					r := rule(batchv1.PodFailurePolicyActionIgnore, 1)
					r.OnPodConditions = disruptionRule(corev1.ConditionTrue).OnPodConditions
					return r
				}(),
			))),
			want: []string{
				"spec.podFailurePolicy.rules[0]: Invalid value: specifying one of OnExitCodes and OnPodConditions is required",
				"spec.podFailurePolicy.rules[1]: Invalid value: specifying both OnExitCodes and OnPodConditions is not supported",
			},
		},
		{
			name: "JOB-PFP-04 onExitCodes operator container and values",
			job: created(clientJob(withRules(
				batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionFailJob, OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: ptr.To("sidecar"), Values: []int32{3, 3, 1}}},
				rule(batchv1.PodFailurePolicyActionFailJob, 0),
				rule(batchv1.PodFailurePolicyActionFailJob),
			))),
			want: []string{
				`spec.podFailurePolicy.rules[0].onExitCodes.operator: Required value: valid values: ["In" "NotIn"]`,
				`spec.podFailurePolicy.rules[0].onExitCodes.containerName: Invalid value: "sidecar": must be one of the container or initContainer names in the pod template`,
				"spec.podFailurePolicy.rules[0].onExitCodes.values[1]: Duplicate value: 3",
				"spec.podFailurePolicy.rules[0].onExitCodes.values: Invalid value: [3,3,1]: must be ordered",
				"spec.podFailurePolicy.rules[1].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator",
				"spec.podFailurePolicy.rules[2].onExitCodes.values: Invalid value: null: at least one value is required",
			},
		},
		{
			name: "JOB-PFP-05 onPodConditions type and status",
			job: created(clientJob(withRules(batchv1.PodFailurePolicyRule{Action: batchv1.PodFailurePolicyActionIgnore,
				OnPodConditions: []batchv1.PodFailurePolicyOnPodConditionsPattern{{Type: "bad type", Status: "Maybe"}}}))),
			want: []string{
				`spec.podFailurePolicy.rules[0].onPodConditions[0].type: Invalid value: "bad type": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
				`spec.podFailurePolicy.rules[0].onPodConditions[0].status: Unsupported value: "Maybe": supported values: "False", "True", "Unknown"`,
			},
		},
		{
			name: "JOB-SP-01 successPolicy needs Indexed",
			job:  created(clientJob(successRules(batchv1.SuccessPolicyRule{SucceededCount: ptr.To[int32](1)}))),
			want: []string{`spec.successPolicy: Invalid value: {"rules":[{"succeededCount":1}]}: requires indexed completion mode`},
		},
		{
			name: "JOB-SP-02 successPolicy needs a rule",
			job:  created(clientJob(indexed(3), successRules())),
			want: []string{"spec.successPolicy.rules: Required value: at least one rules must be specified when the successPolicy is specified"},
		},
		{
			name: "JOB-SP-03 a rule needs succeededCount or succeededIndexes",
			job:  created(clientJob(indexed(3), successRules(batchv1.SuccessPolicyRule{}))),
			want: []string{"spec.successPolicy.rules[0]: Required value: at least one of succeededCount or succeededIndexes must be specified"},
		},
		{
			name: "JOB-SP-04 succeededIndexes must parse below completions",
			job: created(clientJob(indexed(7), successRules(
				batchv1.SuccessPolicyRule{SucceededIndexes: ptr.To("1,7")},
				batchv1.SuccessPolicyRule{SucceededIndexes: ptr.To("0-3,2")},
				batchv1.SuccessPolicyRule{SucceededIndexes: ptr.To("x")},
			))),
			want: []string{
				`spec.successPolicy.rules[0].succeededIndexes: Invalid value: "1,7": error parsing succeededIndexes: too large index: "7"`,
				`spec.successPolicy.rules[1].succeededIndexes: Invalid value: "0-3,2": error parsing succeededIndexes: non-increasing order, previous: 3, current: 2`,
				`spec.successPolicy.rules[2].succeededIndexes: Invalid value: "x": error parsing succeededIndexes: cannot convert string to integer for index: "x"`,
			},
		},
		{
			name: "JOB-SP-05 succeededCount is at most completions and the listed indexes",
			job: created(clientJob(indexed(3), successRules(
				batchv1.SuccessPolicyRule{SucceededCount: ptr.To[int32](4)},
				batchv1.SuccessPolicyRule{SucceededIndexes: ptr.To("0-1"), SucceededCount: ptr.To[int32](3)},
			))),
			want: []string{
				"spec.successPolicy.rules[0].succeededCount: Invalid value: 4: must be less than or equal to 3 (the number of specified completions)",
				"spec.successPolicy.rules[1].succeededCount: Invalid value: 3: must be less than or equal to 2 (the number of indexes in the specified succeededIndexes field)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := errStrings(validateJob(tt.job, jobOptions{requirePrefixedLabels: true}))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("validateJob() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJobWarnings(t *testing.T) {
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{
			name: "JOB-VAL-02 a name that is not a DNS label gets a warning",
			got:  newJobStrategy().WarningsOnCreate(created(clientJob(func(j *batchv1.Job) { j.Name = "pi.v2" }))),
			want: []string{`metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; a DNS label is recommended: [must not contain dots]`},
		},
		{
			name: "JOB-VAL-02 a DNS label name gets none",
			got:  newJobStrategy().WarningsOnCreate(created(clientJob())),
		},
		{
			name: "JOB-VAL-13 Indexed Jobs with many completions and high parallelism get a warning",
			got: newJobStrategy().WarningsOnCreate(created(clientJob(indexed(100_001), func(j *batchv1.Job) {
				j.Spec.Parallelism = ptr.To[int32](10_001)
			}))),
			want: []string{"spec: In Indexed Jobs with a number of completions higher than 10^5 and a parallelism higher than 10^4, Kubernetes might not be able to track completedIndexes when a big number of indexes fail"},
		},
		{
			name: "JOB-UPD-09 updates get the spec warnings when the spec changes",
			got: newJobStrategy().WarningsOnUpdate(
				updated(stored(indexed(100_001), func(j *batchv1.Job) { j.Spec.Parallelism = ptr.To[int32](10_000) }),
					func(j *batchv1.Job) { j.Spec.Parallelism = ptr.To[int32](10_001) }),
				stored(indexed(100_001), func(j *batchv1.Job) { j.Spec.Parallelism = ptr.To[int32](10_000) })),
			want: []string{"spec: In Indexed Jobs with a number of completions higher than 10^5 and a parallelism higher than 10^4, Kubernetes might not be able to track completedIndexes when a big number of indexes fail"},
		},
		{
			name: "JOB-UPD-09 updates that leave the spec alone get no warnings",
			got: newJobStrategy().WarningsOnUpdate(
				updated(stored(indexed(100_001), func(j *batchv1.Job) { j.Spec.Parallelism = ptr.To[int32](10_001) }),
					func(j *batchv1.Job) { j.Labels = map[string]string{"a": "b"} }),
				stored(indexed(100_001), func(j *batchv1.Job) { j.Spec.Parallelism = ptr.To[int32](10_001) })),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.got); diff != "" {
				t.Errorf("warnings mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
