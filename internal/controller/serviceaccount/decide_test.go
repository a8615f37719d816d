package serviceaccount

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNeedsAccount(t *testing.T) {
	deleted := metav1.Now()
	tests := []struct {
		name   string
		ns     *corev1.Namespace
		exists bool
		want   bool
	}{
		{
			name: "active namespace without the account",
			ns:   &corev1.Namespace{Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
			want: true,
		},
		{
			name:   "active namespace that has it",
			ns:     &corev1.Namespace{Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
			exists: true,
		},
		{
			name: "terminating namespace",
			ns:   &corev1.Namespace{Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}},
		},
		{
			name: "deleted namespace whose phase is not updated yet",
			ns: &corev1.Namespace{
				ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &deleted},
				Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
			},
		},
		{
			name: "namespace without a phase",
			ns:   &corev1.Namespace{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := needsAccount(tt.ns, tt.exists); got != tt.want {
				t.Errorf("needsAccount() = %v, want %v", got, tt.want)
			}
		})
	}
}
