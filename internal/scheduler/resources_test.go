package scheduler

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

func container(cpu, memory string) corev1.Container {
	r := corev1.ResourceList{}
	if cpu != "" {
		r[corev1.ResourceCPU] = resource.MustParse(cpu)
	}
	if memory != "" {
		r[corev1.ResourceMemory] = resource.MustParse(memory)
	}
	return corev1.Container{Name: "c", Resources: corev1.ResourceRequirements{Requests: r}}
}

func sidecar(cpu, memory string) corev1.Container {
	c := container(cpu, memory)
	c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
	return c
}

func TestPodRequests(t *testing.T) {
	const mi = 1024 * 1024
	tests := []struct {
		name        string
		spec        corev1.PodSpec
		want        resources
		wantNonZero resources
	}{
		{
			name:        "containers add up",
			spec:        corev1.PodSpec{Containers: []corev1.Container{container("1", "1Gi"), container("500m", "")}},
			want:        resources{milliCPU: 1500, memory: 1024 * mi},
			wantNonZero: resources{milliCPU: 1500, memory: 1024*mi + defaultMemoryRequest},
		},
		{
			name:        "no requests count as zero, and as the defaults for scoring",
			spec:        corev1.PodSpec{Containers: []corev1.Container{container("", "")}},
			want:        resources{},
			wantNonZero: resources{milliCPU: defaultMilliCPURequest, memory: defaultMemoryRequest},
		},
		{
			// upstream's example: init 2/1G and 2/3G, containers 2/1G and 1/1G
			name: "the largest init container wins where it exceeds the containers",
			spec: corev1.PodSpec{
				InitContainers: []corev1.Container{container("2", "1Gi"), container("2", "3Gi")},
				Containers:     []corev1.Container{container("2", "1Gi"), container("1", "1Gi")},
			},
			want:        resources{milliCPU: 3000, memory: 3072 * mi},
			wantNonZero: resources{milliCPU: 3000, memory: 3072 * mi},
		},
		{
			name: "sidecars run with the containers and next to later init containers",
			spec: corev1.PodSpec{
				InitContainers: []corev1.Container{sidecar("1", "1Gi"), container("3", "1Gi")},
				Containers:     []corev1.Container{container("1", "1Gi")},
			},
			// steady state 2 cpu 2Gi; the init container runs beside the sidecar: 4 cpu 2Gi
			want:        resources{milliCPU: 4000, memory: 2048 * mi},
			wantNonZero: resources{milliCPU: 4000, memory: 2048 * mi},
		},
		{
			name: "pod-level requests replace the containers' cpu and memory",
			spec: corev1.PodSpec{
				Resources:  &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}},
				Containers: []corev1.Container{container("500m", "1Gi")},
			},
			want:        resources{milliCPU: 2000, memory: 1024 * mi},
			wantNonZero: resources{milliCPU: 2000, memory: 1024 * mi},
		},
		{
			name: "overhead is added",
			spec: corev1.PodSpec{
				Overhead:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")},
				Containers: []corev1.Container{container("1", "1Gi")},
			},
			want:        resources{milliCPU: 1250, memory: 1024 * mi},
			wantNonZero: resources{milliCPU: 1250, memory: 1024 * mi},
		},
		{
			name: "extended resources and hugepages are counted, others ignored",
			spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				"nvidia.com/gpu":   resource.MustParse("2"),
				"hugepages-2Mi":    resource.MustParse("4Mi"),
				"kubernetes.io/xy": resource.MustParse("1"),
				corev1.ResourceCPU: resource.MustParse("1"),
			}}}}},
			want:        resources{milliCPU: 1000, scalar: map[corev1.ResourceName]int64{"nvidia.com/gpu": 2, "hugepages-2Mi": 4 * mi}},
			wantNonZero: resources{milliCPU: 1000, memory: defaultMemoryRequest, scalar: map[corev1.ResourceName]int64{"nvidia.com/gpu": 2, "hugepages-2Mi": 4 * mi}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: tt.spec}
			if diff := cmp.Diff(tt.want, podRequests(pod, false), cmp.AllowUnexported(resources{})); diff != "" {
				t.Errorf("podRequests() mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantNonZero, podRequests(pod, true), cmp.AllowUnexported(resources{})); diff != "" {
				t.Errorf("podRequests(nonZero) mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
