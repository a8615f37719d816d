package jobrun

import (
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// annotationInstantiate marks a Job created by hand from a CronJob, as
// `kubectl create job --from=cronjob/NAME` does.
const (
	annotationInstantiate = "cronjob.kubernetes.io/instantiate"
	instantiateManual     = "manual"
)

// jobFromCronJob is the Job --now creates from cj: its jobTemplate, owned
// by cj, annotated as kubectl create job --from does. The server picks the
// name's suffix (a CronJob's name is at most 52 characters, so the Job's
// fits in a label value).
func jobFromCronJob(cj *batchv1.CronJob) *batchv1.Job {
	tmpl := cj.Spec.JobTemplate
	annotations := map[string]string{annotationInstantiate: instantiateManual}
	for k, v := range tmpl.Annotations {
		annotations[k] = v
	}
	return &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: batchv1.SchemeGroupVersion.String(), Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: cj.Name + "-",
			Namespace:    cj.Namespace,
			Labels:       tmpl.Labels,
			Annotations:  annotations,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: batchv1.SchemeGroupVersion.String(),
				Kind:       "CronJob",
				Name:       cj.Name,
				UID:        cj.UID,
				Controller: ptr.To(true),
			}},
		},
		Spec: *tmpl.Spec.DeepCopy(),
	}
}
