package table

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
)

// TestEventRow ports upstream's TestPrintEvent (kubectl.md §2.9). Cells:
// Last Seen, Type, Reason, Object, Subobject, Source, Message, First Seen,
// Count, Name.
func TestEventRow(t *testing.T) {
	const day = 24 * time.Hour
	deployment := corev1.ObjectReference{Kind: "Deployment", Name: "Deployment Name", FieldPath: "spec.containers{foo}"}
	kubeletNode1 := corev1.EventSource{Component: "kubelet", Host: "Node1"}
	micro := func(d time.Duration) metav1.MicroTime { return metav1.NewMicroTime(now.Add(-d)) }
	tests := []struct {
		name  string
		event *corev1.Event
		want  []any
	}{
		{
			name: "upstream basic event",
			event: &corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Name: "event1"},
				Source:         corev1.EventSource{Component: "kubelet"},
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "Pod Name", FieldPath: "spec.containers{foo}"},
				Reason:         "Event Reason", Message: "Message Data",
				FirstTimestamp: ago(3 * day), LastTimestamp: ago(2 * day), Count: 6, Type: corev1.EventTypeNormal,
			},
			want: []any{"2d", "Normal", "Event Reason", "pod/Pod Name", "spec.containers{foo}", "kubelet", "Message Data", "3d", int64(6), "event1"},
		},
		{
			name: "upstream source with host",
			event: &corev1.Event{
				ObjectMeta: metav1.ObjectMeta{Name: "event2"}, Source: kubeletNode1, InvolvedObject: deployment,
				Reason: "Event Reason", Message: "Message Data",
				FirstTimestamp: ago(3 * day), LastTimestamp: ago(2 * day), Count: 6, Type: corev1.EventTypeWarning,
			},
			want: []any{"2d", "Warning", "Event Reason", "deployment/Deployment Name", "spec.containers{foo}", "kubelet, Node1", "Message Data", "3d", int64(6), "event2"},
		},
		{
			name: "upstream without firstTimestamp uses eventTime",
			event: &corev1.Event{
				ObjectMeta: metav1.ObjectMeta{Name: "event3"}, Source: kubeletNode1, InvolvedObject: deployment,
				Reason: "Event Reason", Message: "Message Data",
				EventTime: micro(3 * day), LastTimestamp: ago(3 * day), Count: 1, Type: corev1.EventTypeWarning,
			},
			want: []any{"3d", "Warning", "Event Reason", "deployment/Deployment Name", "spec.containers{foo}", "kubelet, Node1", "Message Data", "3d", int64(1), "event3"},
		},
		{
			name: "upstream without lastTimestamp uses first seen",
			event: &corev1.Event{
				ObjectMeta: metav1.ObjectMeta{Name: "event4"}, Source: kubeletNode1, InvolvedObject: deployment,
				Reason: "Event Reason", Message: "Message Data",
				EventTime: micro(3 * day), FirstTimestamp: ago(3 * day), Count: 1, Type: corev1.EventTypeWarning,
			},
			want: []any{"3d", "Warning", "Event Reason", "deployment/Deployment Name", "spec.containers{foo}", "kubelet, Node1", "Message Data", "3d", int64(1), "event4"},
		},
		{
			name: "upstream without first or last timestamp",
			event: &corev1.Event{
				ObjectMeta: metav1.ObjectMeta{Name: "event5"}, Source: kubeletNode1, InvolvedObject: deployment,
				Reason: "Event Reason", Message: "Message Data",
				EventTime: micro(3 * day), Count: 1, Type: corev1.EventTypeWarning,
			},
			want: []any{"3d", "Warning", "Event Reason", "deployment/Deployment Name", "spec.containers{foo}", "kubelet, Node1", "Message Data", "3d", int64(1), "event5"},
		},
		{
			name: "upstream series gives last seen and count",
			event: &corev1.Event{
				ObjectMeta: metav1.ObjectMeta{Name: "event6"}, Source: kubeletNode1, InvolvedObject: deployment,
				Series: &corev1.EventSeries{Count: 2, LastObservedTime: micro(2 * day)},
				Reason: "Event Reason", Message: "Message Data", EventTime: micro(3 * day), Type: corev1.EventTypeWarning,
			},
			want: []any{"2d", "Warning", "Event Reason", "deployment/Deployment Name", "spec.containers{foo}", "kubelet, Node1", "Message Data", "3d", int64(2), "event6"},
		},
		{
			name: "upstream singleton without count counts one",
			event: &corev1.Event{
				ObjectMeta: metav1.ObjectMeta{Name: "event7"}, Source: kubeletNode1, InvolvedObject: deployment,
				Reason: "Event Reason", Message: "Message Data", EventTime: micro(3 * day), Type: corev1.EventTypeWarning,
			},
			want: []any{"3d", "Warning", "Event Reason", "deployment/Deployment Name", "spec.containers{foo}", "kubelet, Node1", "Message Data", "3d", int64(1), "event7"},
		},
		{
			name: "upstream empty source falls back to the reporting controller",
			event: &corev1.Event{
				ObjectMeta: metav1.ObjectMeta{Name: "event2"}, ReportingController: "kubelet", ReportingInstance: "test", InvolvedObject: deployment,
				Reason: "Event Reason", Message: "Message Data",
				FirstTimestamp: ago(3 * day), LastTimestamp: ago(2 * day), Count: 6, Type: corev1.EventTypeWarning,
			},
			want: []any{"2d", "Warning", "Event Reason", "deployment/Deployment Name", "spec.containers{foo}", "kubelet, test", "Message Data", "3d", int64(6), "event2"},
		},
		{
			name: "derived Job controller event with a trimmed message",
			event: &corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Name: "pi.17f0"},
				Source:         corev1.EventSource{Component: "job-controller"},
				InvolvedObject: corev1.ObjectReference{Kind: "Job", Name: "pi"},
				Reason:         "SuccessfulCreate", Message: "Created pod: pi-abcde\n",
				FirstTimestamp: ago(70 * time.Second), LastTimestamp: ago(70 * time.Second), Count: 1, Type: corev1.EventTypeNormal,
			},
			want: []any{"70s", "Normal", "SuccessfulCreate", "job/pi", "", "job-controller", "Created pod: pi-abcde", "70s", int64(1), "pi.17f0"},
		},
		{
			name: "derived involved object without a name shows the kind",
			event: &corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{Name: "e"},
				InvolvedObject: corev1.ObjectReference{Kind: "Node"},
				Reason:         "Starting", FirstTimestamp: ago(time.Minute), LastTimestamp: ago(time.Minute), Count: 1, Type: corev1.EventTypeNormal,
			},
			want: []any{"60s", "Normal", "Starting", "node", "", "", "", "60s", int64(1), "e"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, cellsOf(t, tt.event)); diff != "" {
				t.Errorf("cells mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEventsV1Row prints events.k8s.io/v1 Events from the fields upstream's
// conversion maps onto its internal Event.
func TestEventsV1Row(t *testing.T) {
	tests := []struct {
		name  string
		event *eventsv1.Event
		want  []any
	}{
		{
			name: "new-style event with series",
			event: &eventsv1.Event{
				ObjectMeta: metav1.ObjectMeta{Name: "e1"}, EventTime: metav1.NewMicroTime(now.Add(-10 * time.Minute)),
				Series:              &eventsv1.EventSeries{Count: 4, LastObservedTime: metav1.NewMicroTime(now.Add(-time.Minute))},
				ReportingController: "batchd.io/job-controller", ReportingInstance: "node-1", Action: "Create",
				Reason: "SuccessfulCreate", Regarding: corev1.ObjectReference{Kind: "Job", Name: "pi", FieldPath: "spec"},
				Note: " Created pod: pi-x ", Type: corev1.EventTypeNormal,
			},
			want: []any{"60s", "Normal", "SuccessfulCreate", "job/pi", "spec", "batchd.io/job-controller, node-1", "Created pod: pi-x", "10m", int64(4), "e1"},
		},
		{
			name: "deprecated fields as written through core/v1",
			event: &eventsv1.Event{
				ObjectMeta:       metav1.ObjectMeta{Name: "e2"},
				DeprecatedSource: corev1.EventSource{Component: "kubelet", Host: "n1"}, DeprecatedCount: 3,
				DeprecatedFirstTimestamp: ago(2 * time.Hour), DeprecatedLastTimestamp: ago(time.Hour),
				Reason: "BackOff", Regarding: corev1.ObjectReference{Kind: "Pod", Name: "p"}, Note: "Back-off", Type: corev1.EventTypeWarning,
			},
			want: []any{"60m", "Warning", "BackOff", "pod/p", "", "kubelet, n1", "Back-off", "120m", int64(3), "e2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, cellsOf(t, tt.event)); diff != "" {
				t.Errorf("cells mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNodeRow ports upstream's TestPrintNodeStatus, TestPrintNodeRole,
// TestPrintNodeOSImage, TestPrintNodeKernelVersion,
// TestPrintNodeContainerRuntimeVersion, TestPrintNodeName and
// TestPrintNode{External,Internal}IP. Cells: Name, Status, Roles, Age,
// Version, Internal-IP, External-IP, OS-Image, Kernel-Version,
// Container-Runtime.
func TestNodeRow(t *testing.T) {
	ready := func(s corev1.ConditionStatus) []corev1.NodeCondition {
		return []corev1.NodeCondition{{Type: corev1.NodeReady, Status: s}}
	}
	unknownWide := []any{"<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"}
	tests := []struct {
		name string
		node *corev1.Node
		want []any
	}{
		{"upstream foo1 Ready", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "foo1"}, Status: corev1.NodeStatus{Conditions: ready(corev1.ConditionTrue)}},
			append([]any{"foo1", "Ready", "<none>", "<unknown>", ""}, unknownWide...)},
		{"upstream foo2 Ready and cordoned", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "foo2"}, Spec: corev1.NodeSpec{Unschedulable: true}, Status: corev1.NodeStatus{Conditions: ready(corev1.ConditionTrue)}},
			append([]any{"foo2", "Ready,SchedulingDisabled", "<none>", "<unknown>", ""}, unknownWide...)},
		{"upstream foo3 duplicate Ready", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "foo3"}, Status: corev1.NodeStatus{Conditions: append(ready(corev1.ConditionTrue), ready(corev1.ConditionTrue)...)}},
			append([]any{"foo3", "Ready", "<none>", "<unknown>", ""}, unknownWide...)},
		{"upstream foo4 NotReady", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "foo4"}, Status: corev1.NodeStatus{Conditions: ready(corev1.ConditionFalse)}},
			append([]any{"foo4", "NotReady", "<none>", "<unknown>", ""}, unknownWide...)},
		{"upstream foo5 NotReady and cordoned", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "foo5"}, Spec: corev1.NodeSpec{Unschedulable: true}, Status: corev1.NodeStatus{Conditions: ready(corev1.ConditionFalse)}},
			append([]any{"foo5", "NotReady,SchedulingDisabled", "<none>", "<unknown>", ""}, unknownWide...)},
		{"upstream foo6 no Ready condition", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "foo6"}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: "InvalidValue", Status: corev1.ConditionTrue}}}},
			append([]any{"foo6", "Unknown", "<none>", "<unknown>", ""}, unknownWide...)},
		{"upstream foo7 empty condition", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "foo7"}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{}}}},
			append([]any{"foo7", "Unknown", "<none>", "<unknown>", ""}, unknownWide...)},
		{"upstream foo8 unknown and cordoned", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "foo8"}, Spec: corev1.NodeSpec{Unschedulable: true}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: "InvalidValue", Status: corev1.ConditionTrue}}}},
			append([]any{"foo8", "Unknown,SchedulingDisabled", "<none>", "<unknown>", ""}, unknownWide...)},
		{"derived Ready Unknown is NotReady", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Status: corev1.NodeStatus{Conditions: ready(corev1.ConditionUnknown)}},
			append([]any{"n", "NotReady", "<none>", "<unknown>", ""}, unknownWide...)},
		{"derived the last Ready condition wins", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Status: corev1.NodeStatus{Conditions: append(ready(corev1.ConditionTrue), ready(corev1.ConditionFalse)...)}},
			append([]any{"n", "NotReady", "<none>", "<unknown>", ""}, unknownWide...)},
		{"upstream roles sorted and deduplicated", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "foo10", Labels: map[string]string{
			"node-role.kubernetes.io/master": "", "node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/proxy": "", "kubernetes.io/role": "node"}}},
			append([]any{"foo10", "Unknown", "control-plane,master,node,proxy", "<unknown>", ""}, unknownWide...)},
		{"upstream role label", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "foo11", Labels: map[string]string{"kubernetes.io/role": "node"}}},
			append([]any{"foo11", "Unknown", "node", "<unknown>", ""}, unknownWide...)},
		{"derived empty role names are ignored", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: map[string]string{"node-role.kubernetes.io/": "x", "kubernetes.io/role": ""}}},
			append([]any{"n", "Unknown", "<none>", "<unknown>", ""}, unknownWide...)},
		{"upstream os image", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "foo1"}, Status: corev1.NodeStatus{
			NodeInfo: corev1.NodeSystemInfo{OSImage: "fake-os-image"}, Addresses: []corev1.NodeAddress{{Type: corev1.NodeExternalIP, Address: "1.1.1.1"}}}},
			[]any{"foo1", "Unknown", "<none>", "<unknown>", "", "<none>", "1.1.1.1", "fake-os-image", "<unknown>", "<unknown>"}},
		{"upstream kernel version", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "foo2"}, Status: corev1.NodeStatus{
			NodeInfo: corev1.NodeSystemInfo{KernelVersion: "fake-kernel-version"}, Addresses: []corev1.NodeAddress{{Type: corev1.NodeExternalIP, Address: "1.1.1.1"}}}},
			[]any{"foo2", "Unknown", "<none>", "<unknown>", "", "<none>", "1.1.1.1", "<unknown>", "fake-kernel-version", "<unknown>"}},
		{"upstream container runtime", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "foo1"}, Status: corev1.NodeStatus{
			NodeInfo: corev1.NodeSystemInfo{ContainerRuntimeVersion: "foo://1.2.3"}, Addresses: []corev1.NodeAddress{{Type: corev1.NodeExternalIP, Address: "1.1.1.1"}}}},
			[]any{"foo1", "Unknown", "<none>", "<unknown>", "", "<none>", "1.1.1.1", "<unknown>", "<unknown>", "foo://1.2.3"}},
		{"upstream name 127.0.0.1", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "127.0.0.1"}},
			append([]any{"127.0.0.1", "Unknown", "<none>", "<unknown>", ""}, unknownWide...)},
		{"upstream first internal and external IP", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "foo3"}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeExternalIP, Address: "2.2.2.2"}, {Type: corev1.NodeInternalIP, Address: "3.3.3.3"}, {Type: corev1.NodeExternalIP, Address: "4.4.4.4"}}}},
			[]any{"foo3", "Unknown", "<none>", "<unknown>", "", "3.3.3.3", "2.2.2.2", "<unknown>", "<unknown>", "<unknown>"}},
		{"derived batchd agent node", &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: "worker-1", CreationTimestamp: ago(26 * time.Hour), Labels: map[string]string{"node-role.kubernetes.io/control-plane": ""}},
			Status: corev1.NodeStatus{Conditions: ready(corev1.ConditionTrue),
				Addresses: []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "worker-1"}, {Type: corev1.NodeInternalIP, Address: "10.0.0.5"}},
				NodeInfo:  corev1.NodeSystemInfo{KubeletVersion: "v1.33.0-batchd", OSImage: "Debian GNU/Linux 12 (bookworm)", KernelVersion: "6.1.0-18-amd64", ContainerRuntimeVersion: "hostproc://0.1.0"}}},
			[]any{"worker-1", "Ready", "control-plane", "26h", "v1.33.0-batchd", "10.0.0.5", "<none>", "Debian GNU/Linux 12 (bookworm)", "6.1.0-18-amd64", "hostproc://0.1.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, cellsOf(t, tt.node)); diff != "" {
				t.Errorf("cells mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSimpleKinds ports upstream's TestPrintNamespace, TestPrintSecret,
// TestPrintServiceAccount and TestPrintConfigMap, and prints Leases.
func TestSimpleKinds(t *testing.T) {
	created := ago(0)
	tests := []struct {
		name string
		obj  runtime.Object
		want []any
	}{
		{"upstream namespace with status and age", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "namespace1", CreationTimestamp: created}, Status: corev1.NamespaceStatus{Phase: "FooStatus"}},
			[]any{"namespace1", "FooStatus", "0s"}},
		{"upstream namespace without status or age", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "namespace2"}},
			[]any{"namespace2", "", "<unknown>"}},
		{"derived terminating namespace", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "gone", CreationTimestamp: ago(2 * time.Hour)}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}},
			[]any{"gone", "Terminating", "120m"}},
		{"upstream secret with data", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "secret1", CreationTimestamp: created}, Type: "kubernetes.io/service-account-token", Data: map[string][]byte{"token": []byte("secret data")}},
			[]any{"secret1", "kubernetes.io/service-account-token", int64(1), "0s"}},
		{"upstream secret without data", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "secret1", CreationTimestamp: created}, Type: "kubernetes.io/service-account-token"},
			[]any{"secret1", "kubernetes.io/service-account-token", int64(0), "0s"}},
		{"derived stringData counts as data once", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", CreationTimestamp: created}, Type: corev1.SecretTypeOpaque,
			Data: map[string][]byte{"a": nil, "b": nil}, StringData: map[string]string{"b": "x", "c": "y"}},
			[]any{"s", "Opaque", int64(3), "0s"}},
		{"upstream service account without secrets", &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "sa1", CreationTimestamp: created}, Secrets: []corev1.ObjectReference{}},
			[]any{"sa1", int64(0), "0s"}},
		{"upstream service account with two secrets", &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "sa1", CreationTimestamp: created}, Secrets: []corev1.ObjectReference{{Name: "Secret1"}, {Name: "Secret2"}}},
			[]any{"sa1", int64(2), "0s"}},
		{"upstream configmap without data", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "configmap1", CreationTimestamp: created}},
			[]any{"configmap1", int64(0), "0s"}},
		{"upstream configmap with one entry", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "configmap2", CreationTimestamp: created}, Data: map[string]string{"foo": "bar"}},
			[]any{"configmap2", int64(1), "0s"}},
		{"upstream configmap with data and binary data", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "configmap3", CreationTimestamp: created},
			Data: map[string]string{"foo": "bar"}, BinaryData: map[string][]byte{"bin": []byte("binary data")}},
			[]any{"configmap3", int64(2), "0s"}},
		{"derived node lease with holder", &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "worker-1", CreationTimestamp: ago(3 * 24 * time.Hour)}, Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("worker-1")}},
			[]any{"worker-1", "worker-1", "3d"}},
		{"derived lease without holder", &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l", CreationTimestamp: created}},
			[]any{"l", "", "0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, cellsOf(t, tt.obj)); diff != "" {
				t.Errorf("cells mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
