package namespace

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

func TestWithoutFinalizer(t *testing.T) {
	tests := []struct {
		name       string
		finalizers []corev1.FinalizerName
		want       []corev1.FinalizerName
	}{
		{name: "only kubernetes", finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}, want: []corev1.FinalizerName{}},
		{
			name:       "others kept sorted and deduplicated",
			finalizers: []corev1.FinalizerName{"z.io/x", corev1.FinalizerKubernetes, "a.io/y", "z.io/x"},
			want:       []corev1.FinalizerName{"a.io/y", "z.io/x"},
		},
		{name: "absent", finalizers: []corev1.FinalizerName{"a.io/y"}, want: []corev1.FinalizerName{"a.io/y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := withoutFinalizer(tt.finalizers, corev1.FinalizerKubernetes)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("withoutFinalizer() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
