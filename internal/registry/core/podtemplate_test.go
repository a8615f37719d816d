package core

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestValidatePodTemplateSpec(t *testing.T) {
	valid := func() corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}},
			Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "c", Image: "busybox"}},
			},
		}
	}
	tests := []struct {
		name     string
		template func() corev1.PodTemplateSpec
		want     []string
	}{
		{name: "a valid template", template: valid},
		{
			name: "labels are reported at the template's labels",
			template: func() corev1.PodTemplateSpec {
				t := valid()
				t.Labels["app"] = "not valid!"
				return t
			},
			want: []string{`tmpl.labels: Invalid value: "not valid!": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`},
		},
		{
			name: "the pod spec is reported under spec",
			template: func() corev1.PodTemplateSpec {
				t := valid()
				t.Spec.Containers = nil
				return t
			},
			want: []string{"tmpl.spec.containers: Required value"},
		},
		{
			name: "ephemeral containers are forbidden",
			template: func() corev1.PodTemplateSpec {
				t := valid()
				t.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "d", Image: "busybox"}}}
				return t
			},
			want: []string{"tmpl.spec.ephemeralContainers: Forbidden: ephemeral containers not allowed in pod template"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := tt.template()
			var got []string
			for _, e := range ValidatePodTemplateSpec(&tmpl, field.NewPath("tmpl")) {
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ValidatePodTemplateSpec() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
