package jobrun

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestJobFromCronJob(t *testing.T) {
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "ops", UID: "cj-uid"},
		Spec: batchv1.CronJobSpec{
			Schedule: "30 2 * * *",
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"team": "a"}, Annotations: map[string]string{"note": "x"}},
				Spec: batchv1.JobSpec{BackoffLimit: ptr.To[int32](2), Template: corev1.PodTemplateSpec{
					Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}},
				}},
			},
		},
	}
	want := &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: "nightly-",
			Namespace:    "ops",
			Labels:       map[string]string{"team": "a"},
			Annotations:  map[string]string{"note": "x", "cronjob.kubernetes.io/instantiate": "manual"},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "batch/v1", Kind: "CronJob", Name: "nightly", UID: "cj-uid", Controller: ptr.To(true),
			}},
		},
		Spec: cj.Spec.JobTemplate.Spec,
	}
	got := jobFromCronJob(cj)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("jobFromCronJob() mismatch (-want +got):\n%s", diff)
	}
	if got.Spec.BackoffLimit == cj.Spec.JobTemplate.Spec.BackoffLimit {
		t.Error("the Job's spec shares memory with the CronJob's template")
	}
}
