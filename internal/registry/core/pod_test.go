package core

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func TestDefaultPodSpec(t *testing.T) {
	spec := corev1.PodSpec{
		Containers: []corev1.Container{
			{Name: "a", Image: "busybox"},
			{Name: "b", Image: "registry.local:5000/tool:1.2", Ports: []corev1.ContainerPort{{ContainerPort: 80}},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{}}}},
			{Name: "c", Image: "img@sha256:abc"},
			{Name: "d", Image: "img:latest"},
		},
		Volumes: []corev1.Volume{{Name: "empty"}, {Name: "cm", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}}},
	}
	DefaultPodSpec(&spec)

	if spec.RestartPolicy != corev1.RestartPolicyAlways || spec.DNSPolicy != corev1.DNSClusterFirst ||
		*spec.TerminationGracePeriodSeconds != 30 || spec.SchedulerName != "default-scheduler" || spec.SecurityContext == nil {
		t.Errorf("pod-level defaults = restart %q dns %q grace %v scheduler %q", spec.RestartPolicy, spec.DNSPolicy, spec.TerminationGracePeriodSeconds, spec.SchedulerName)
	}
	if spec.EnableServiceLinks != nil {
		t.Errorf("enableServiceLinks defaulted on a pod spec: upstream does that for pods only, not templates")
	}
	pulls := map[string]corev1.PullPolicy{}
	for _, c := range spec.Containers {
		pulls[c.Name] = c.ImagePullPolicy
		if c.TerminationMessagePath != "/dev/termination-log" || c.TerminationMessagePolicy != corev1.TerminationMessageReadFile {
			t.Errorf("container %s termination message defaults = %q %q", c.Name, c.TerminationMessagePath, c.TerminationMessagePolicy)
		}
	}
	want := map[string]corev1.PullPolicy{"a": corev1.PullAlways, "b": corev1.PullIfNotPresent, "c": corev1.PullIfNotPresent, "d": corev1.PullAlways}
	if diff := cmp.Diff(want, pulls); diff != "" {
		t.Errorf("imagePullPolicy (-want +got):\n%s", diff)
	}
	b := spec.Containers[1]
	if b.Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("port protocol = %q, want TCP", b.Ports[0].Protocol)
	}
	wantProbe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Scheme: corev1.URISchemeHTTP}},
		TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3}
	if diff := cmp.Diff(wantProbe, b.ReadinessProbe); diff != "" {
		t.Errorf("probe defaults (-want +got):\n%s", diff)
	}
	if spec.Volumes[0].EmptyDir == nil {
		t.Errorf("a volume without a source did not default to emptyDir")
	}
	if m := spec.Volumes[1].ConfigMap.DefaultMode; m == nil || *m != 0o644 {
		t.Errorf("configMap defaultMode = %v, want 0644", m)
	}
}

func TestDefaultPodRequestsFromLimits(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "i",
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}}}}}}
	defaultPod(pod)
	if got := pod.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory]; got.String() != "64Mi" {
		t.Errorf("memory request = %s, want the 64Mi limit", got.String())
	}
	if pod.Spec.EnableServiceLinks == nil || !*pod.Spec.EnableServiceLinks {
		t.Errorf("enableServiceLinks = %v, want true on pods", pod.Spec.EnableServiceLinks)
	}
}

func TestQOSClass(t *testing.T) {
	res := func(req, lim string) corev1.ResourceRequirements {
		r := corev1.ResourceRequirements{}
		if req != "" {
			r.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(req), corev1.ResourceMemory: resource.MustParse(req + "Mi")}
		}
		if lim != "" {
			r.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(lim), corev1.ResourceMemory: resource.MustParse(lim + "Mi")}
		}
		return r
	}
	tests := []struct {
		name string
		res  []corev1.ResourceRequirements
		want corev1.PodQOSClass
	}{
		{"nothing set is best effort", []corev1.ResourceRequirements{{}}, corev1.PodQOSBestEffort},
		{"requests equal limits is guaranteed", []corev1.ResourceRequirements{res("1", "1")}, corev1.PodQOSGuaranteed},
		{"requests below limits is burstable", []corev1.ResourceRequirements{res("1", "2")}, corev1.PodQOSBurstable},
		{"one container without limits is burstable", []corev1.ResourceRequirements{res("1", "1"), res("1", "")}, corev1.PodQOSBurstable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := corev1.PodSpec{}
			for i, r := range tt.res {
				spec.Containers = append(spec.Containers, corev1.Container{Name: string(rune('a' + i)), Resources: r})
			}
			if got := qosClass(&spec); got != tt.want {
				t.Errorf("qosClass = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestValidatePodSpec(t *testing.T) {
	valid := func() corev1.PodSpec {
		return corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "c", Image: "i"}}}
	}
	tests := []struct {
		name   string
		modify func(*corev1.PodSpec)
		want   []string // field paths with error types
	}{
		{"valid", func(*corev1.PodSpec) {}, nil},
		{"no containers", func(s *corev1.PodSpec) { s.Containers = nil }, []string{"spec.containers: Required value"}},
		{"missing image", func(s *corev1.PodSpec) { s.Containers[0].Image = "" }, []string{"spec.containers[0].image: Required value"}},
		{"bad container name", func(s *corev1.PodSpec) { s.Containers[0].Name = "Bad_Name" }, []string{"spec.containers[0].name: Invalid value"}},
		{"duplicate container name", func(s *corev1.PodSpec) { s.Containers = append(s.Containers, s.Containers[0]) }, []string{"spec.containers[1].name: Duplicate value"}},
		{"unknown restart policy", func(s *corev1.PodSpec) { s.RestartPolicy = "Sometimes" }, []string{"spec.restartPolicy: Unsupported value"}},
		{"mount of a missing volume", func(s *corev1.PodSpec) {
			s.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		}, []string{"spec.containers[0].volumeMounts[0].name: Not found"}},
		{"request above limit", func(s *corev1.PodSpec) {
			s.Containers[0].Resources = corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}
		}, []string{"spec.containers[0].resources.requests[cpu]: Invalid value"}},
		{"zero active deadline", func(s *corev1.PodSpec) { s.ActiveDeadlineSeconds = ptr.To[int64](0) }, []string{"spec.activeDeadlineSeconds: Invalid value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := valid()
			tt.modify(&spec)
			var got []string
			for _, e := range ValidatePodSpec(&spec, field.NewPath("spec")) {
				got = append(got, e.Field+": "+e.Type.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPodUpdateMayChangeOnlyMutableFields(t *testing.T) {
	old := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
		Containers: []corev1.Container{{Name: "c", Image: "i:1"}}}}
	tests := []struct {
		name      string
		modify    func(*corev1.Pod)
		forbidden bool
	}{
		{"image", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "i:2" }, false},
		{"active deadline", func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](5) }, false},
		{"added toleration", func(p *corev1.Pod) { p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: "Exists"}} }, false},
		{"command", func(p *corev1.Pod) { p.Spec.Containers[0].Command = []string{"x"} }, true},
		{"restart policy", func(p *corev1.Pod) { p.Spec.RestartPolicy = corev1.RestartPolicyOnFailure }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := old.DeepCopy()
			tt.modify(pod)
			errs := validatePodUpdate(pod, old)
			gotForbidden := false
			for _, e := range errs {
				if e.Type == field.ErrorTypeForbidden && e.Field == "spec" && e.Detail == podUpdateForbiddenMsg {
					gotForbidden = true
				}
			}
			if gotForbidden != tt.forbidden {
				t.Errorf("forbidden = %v (%v), want %v", gotForbidden, errs, tt.forbidden)
			}
		})
	}
}

func TestPodGracePeriod(t *testing.T) {
	bound := func(phase corev1.PodPhase, grace *int64) *corev1.Pod {
		return &corev1.Pod{Spec: corev1.PodSpec{NodeName: "n", TerminationGracePeriodSeconds: grace}, Status: corev1.PodStatus{Phase: phase}}
	}
	tests := []struct {
		name      string
		pod       *corev1.Pod
		requested *int64
		want      int64
	}{
		{"unscheduled goes at once", &corev1.Pod{}, nil, 0},
		{"succeeded goes at once", bound(corev1.PodSucceeded, nil), nil, 0},
		{"failed goes at once", bound(corev1.PodFailed, nil), nil, 0},
		{"running waits the default 30s", bound(corev1.PodRunning, nil), nil, 30},
		{"running waits its own grace", bound(corev1.PodRunning, ptr.To[int64](5)), nil, 5},
		{"requested grace wins", bound(corev1.PodRunning, ptr.To[int64](5)), ptr.To[int64](2), 2},
		{"force delete", bound(corev1.PodRunning, nil), ptr.To[int64](0), 0},
		{"negative becomes 1", bound(corev1.PodRunning, nil), ptr.To[int64](-3), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (podStrategy{}).GracePeriod(tt.pod, tt.requested); got != tt.want {
				t.Errorf("grace = %d, want %d", got, tt.want)
			}
		})
	}
}
