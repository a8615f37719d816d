package table

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func running() corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
}

func waiting(reason string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
}

func terminated(reason string, code int32) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: code}}
}

// finished is a last termination state that ended d before now.
func finished(d time.Duration) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{FinishedAt: ago(d)}}
}

func sidecar(name string) corev1.Container {
	return corev1.Container{Name: name, RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)}
}

func podWith(name string, containers int, status corev1.PodStatus) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.PodSpec{Containers: make([]corev1.Container, containers)},
		Status:     status,
	}
}

var (
	succeededRow = []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: "Succeeded", Message: "The pod has completed successfully."}}
	failedRow    = []metav1.TableRowCondition{{Type: metav1.RowCompleted, Status: metav1.ConditionTrue, Reason: "Failed", Message: "The pod failed."}}
	noWide       = []any{"<none>", "<none>", "<none>", "<none>"}
)

// TestPodRow ports upstream's TestPrintPod, TestPrintPodWithRestartableInitContainer,
// TestPrintNonTerminatedPod and TestPrintPodConditions (printers_test.go,
// with time.Now() replaced by the fixed now), and adds the STATUS values
// users meet most (kubectl.md §2.9), derived from the same printPod logic.
// Cells are Name, Ready, Status, Restarts, Age; the wide cells are checked
// in TestPodWideRow.
func TestPodRow(t *testing.T) {
	deleted := agoPtr(10 * time.Second)
	tests := []struct {
		name  string
		pod   *corev1.Pod
		want  []any
		conds []metav1.TableRowCondition
	}{
		// upstream TestPrintPod
		{
			name: "upstream test1 name containers restarts and readiness",
			pod: podWith("test1", 2, corev1.PodStatus{Phase: "podPhase", ContainerStatuses: []corev1.ContainerStatus{
				{Ready: true, RestartCount: 3, State: running()}, {RestartCount: 3},
			}}),
			want: []any{"test1", "1/2", "podPhase", "6", "<unknown>"},
		},
		{
			name: "upstream test2 container waiting reason overrides the phase",
			pod: podWith("test2", 2, corev1.PodStatus{Phase: "podPhase", ContainerStatuses: []corev1.ContainerStatus{
				{Ready: true, RestartCount: 3, State: running()}, {State: waiting("ContainerWaitingReason"), RestartCount: 3},
			}}),
			want: []any{"test2", "1/2", "ContainerWaitingReason", "6", "<unknown>"},
		},
		{
			name: "upstream test3 the first container's state wins",
			pod: podWith("test3", 2, corev1.PodStatus{Phase: "podPhase", ContainerStatuses: []corev1.ContainerStatus{
				{State: waiting("ContainerWaitingReason"), RestartCount: 3}, {State: terminated("ContainerTerminatedReason", 0), RestartCount: 3},
			}}),
			want: []any{"test3", "0/2", "ContainerWaitingReason", "6", "<unknown>"},
		},
		{
			name: "upstream test4 ready without running is not counted",
			pod: podWith("test4", 2, corev1.PodStatus{Phase: "podPhase", ContainerStatuses: []corev1.ContainerStatus{
				{Ready: true, RestartCount: 3, State: running()}, {Ready: true, RestartCount: 3},
			}}),
			want: []any{"test4", "1/2", "podPhase", "6", "<unknown>"},
		},
		{
			name: "upstream test5 status reason overrides the phase",
			pod: podWith("test5", 2, corev1.PodStatus{Reason: "podReason", Phase: "podPhase", ContainerStatuses: []corev1.ContainerStatus{
				{Ready: true, RestartCount: 3, State: running()}, {Ready: true, RestartCount: 3},
			}}),
			want: []any{"test5", "1/2", "podReason", "6", "<unknown>"},
		},
		{
			name: "upstream test6 completed and running without Ready condition is NotReady",
			pod: podWith("test6", 2, corev1.PodStatus{Phase: "Running", ContainerStatuses: []corev1.ContainerStatus{
				{Ready: true, RestartCount: 3, State: terminated("Completed", 0)}, {Ready: true, RestartCount: 3, State: running()},
			}}),
			want: []any{"test6", "1/2", "NotReady", "6", "<unknown>"},
		},
		{
			name: "upstream test6 completed and running with Ready condition is Running",
			pod: podWith("test6", 2, corev1.PodStatus{Phase: "Running",
				ContainerStatuses: []corev1.ContainerStatus{
					{Ready: true, RestartCount: 3, State: terminated("Completed", 0)}, {Ready: true, RestartCount: 3, State: running()},
				},
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
			}),
			want: []any{"test6", "1/2", "Running", "6", "<unknown>"},
		},
		{
			name: "upstream test7 restarting init container shows Init 0 of 1",
			pod: &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "test7"},
				Spec:       corev1.PodSpec{InitContainers: make([]corev1.Container, 1), Containers: make([]corev1.Container, 1)},
				Status: corev1.PodStatus{Phase: "podPhase",
					InitContainerStatuses: []corev1.ContainerStatus{{RestartCount: 3, State: running(), LastTerminationState: finished(10 * time.Second)}},
					ContainerStatuses:     []corev1.ContainerStatus{{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{}}}},
				},
			},
			want: []any{"test7", "0/1", "Init:0/1", "3 (10s ago)", "<unknown>"},
		},
		{
			name: "upstream test8 first of two init containers restarting",
			pod: &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "test8"},
				Spec:       corev1.PodSpec{InitContainers: make([]corev1.Container, 2), Containers: make([]corev1.Container, 1)},
				Status: corev1.PodStatus{Phase: "podPhase",
					InitContainerStatuses: []corev1.ContainerStatus{
						{RestartCount: 3, State: running(), LastTerminationState: finished(10 * time.Second)},
						{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{}}},
					},
					ContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{}}}},
				},
			},
			want: []any{"test8", "0/1", "Init:0/2", "3 (10s ago)", "<unknown>"},
		},
		{
			name: "upstream test9 second init container restarting after the first completed",
			pod: &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "test9"},
				Spec:       corev1.PodSpec{InitContainers: make([]corev1.Container, 2), Containers: make([]corev1.Container, 1)},
				Status: corev1.PodStatus{Phase: "podPhase",
					InitContainerStatuses: []corev1.ContainerStatus{
						{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}},
						{RestartCount: 3, State: running(), LastTerminationState: finished(10 * time.Second)},
					},
					ContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{}}}},
				},
			},
			want: []any{"test9", "0/1", "Init:1/2", "3 (10s ago)", "<unknown>"},
		},
		{
			name: "upstream test10 init restarts add up and the latest restart shows",
			pod: &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "test10"},
				Spec:       corev1.PodSpec{InitContainers: make([]corev1.Container, 2), Containers: make([]corev1.Container, 1)},
				Status: corev1.PodStatus{Phase: "podPhase",
					InitContainerStatuses: []corev1.ContainerStatus{
						{RestartCount: 2, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}, LastTerminationState: finished(2 * time.Minute)},
						{RestartCount: 3, State: running(), LastTerminationState: finished(10 * time.Second)},
					},
					ContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{}}}},
				},
			},
			want: []any{"test10", "0/1", "Init:1/2", "5 (10s ago)", "<unknown>"},
		},
		{
			name: "upstream test11 finished init restarts do not count once running",
			pod: &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "test11"},
				Spec:       corev1.PodSpec{InitContainers: make([]corev1.Container, 1), Containers: make([]corev1.Container, 1)},
				Status: corev1.PodStatus{Phase: "Running",
					InitContainerStatuses: []corev1.ContainerStatus{
						{RestartCount: 2, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}, LastTerminationState: finished(2 * time.Minute)},
					},
					ContainerStatuses: []corev1.ContainerStatus{{RestartCount: 4, State: running(), LastTerminationState: finished(20 * time.Second)}},
				},
			},
			want: []any{"test11", "0/1", "Running", "4 (20s ago)", "<unknown>"},
		},
		{
			name: "upstream test12 restart 5d ago",
			pod: podWith("test12", 1, corev1.PodStatus{Phase: "Running", ContainerStatuses: []corev1.ContainerStatus{
				{Ready: true, RestartCount: 3, State: running(), LastTerminationState: finished(5 * 24 * time.Hour)},
			}}),
			want: []any{"test12", "1/1", "Running", "3 (5d ago)", "<unknown>"},
		},
		{
			name: "upstream test13 one container never restarted",
			pod: podWith("test13", 2, corev1.PodStatus{Phase: "Running", ContainerStatuses: []corev1.ContainerStatus{
				{Ready: true, State: running()},
				{Ready: true, RestartCount: 3, State: running(), LastTerminationState: finished(10 * 24 * time.Hour)},
			}}),
			want: []any{"test13", "2/2", "Running", "3 (10d ago)", "<unknown>"},
		},
		{
			name: "upstream test14 the most recent restart of two shows",
			pod: podWith("test14", 2, corev1.PodStatus{Phase: "Running", ContainerStatuses: []corev1.ContainerStatus{
				{Ready: true, RestartCount: 6, State: running(), LastTerminationState: finished(5 * 24 * time.Hour)},
				{Ready: true, RestartCount: 3, State: running(), LastTerminationState: finished(20 * 24 * time.Hour)},
			}}),
			want: []any{"test14", "2/2", "Running", "9 (5d ago)", "<unknown>"},
		},
		{
			name: "upstream test15 SchedulingGated",
			pod: podWith("test15", 2, corev1.PodStatus{Phase: "podPhase", Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated},
			}}),
			want: []any{"test15", "0/2", "SchedulingGated", "0", "<unknown>"},
		},
		{
			name: "upstream test16 succeeded pod is Completed",
			pod: podWith("test16", 1, corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{
				{State: terminated("Completed", 0)},
			}}),
			want:  []any{"test16", "0/1", "Completed", "0", "<unknown>"},
			conds: succeededRow,
		},
		{
			name: "upstream test17 failed pod shows the container's reason",
			pod: podWith("test17", 1, corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{
				{State: terminated("Error", 1)},
			}}),
			want:  []any{"test17", "0/1", "Error", "0", "<unknown>"},
			conds: failedRow,
		},
		{
			name: "upstream test18 succeeded pod being deleted stays Completed",
			pod: func() *corev1.Pod {
				p := podWith("test18", 1, corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{State: terminated("Completed", 0)}}})
				p.DeletionTimestamp = deleted
				return p
			}(),
			want:  []any{"test18", "0/1", "Completed", "0", "<unknown>"},
			conds: succeededRow,
		},
		{
			name: "upstream test19 running pod being deleted is Terminating",
			pod: func() *corev1.Pod {
				p := podWith("test19", 1, corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{State: running()}}})
				p.DeletionTimestamp = deleted
				return p
			}(),
			want: []any{"test19", "0/1", "Terminating", "0", "<unknown>"},
		},
		{
			name: "upstream test20 pending pod being deleted is Terminating",
			pod: func() *corev1.Pod {
				p := podWith("test20", 1, corev1.PodStatus{Phase: corev1.PodPending})
				p.DeletionTimestamp = deleted
				return p
			}(),
			want: []any{"test20", "0/1", "Terminating", "0", "<unknown>"},
		},

		// upstream TestPrintPodWithRestartableInitContainer
		{
			name: "upstream sidecar test1 first sidecar running but not started",
			pod: &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "test1"},
				Spec:       corev1.PodSpec{InitContainers: []corev1.Container{sidecar("restartable-init-1"), sidecar("restartable-init-2")}, Containers: make([]corev1.Container, 1)},
				Status: corev1.PodStatus{Phase: "Pending",
					InitContainerStatuses: []corev1.ContainerStatus{
						{Name: "restartable-init-1", RestartCount: 3, State: running(), Started: ptr.To(false), LastTerminationState: finished(10 * time.Second)},
						{Name: "restartable-init-2", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{}}, Started: ptr.To(false)},
					},
					ContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{}}}},
					Conditions:        []corev1.PodCondition{{Type: corev1.PodInitialized, Status: corev1.ConditionFalse}},
				},
			},
			want: []any{"test1", "0/3", "Init:0/2", "3 (10s ago)", "<unknown>"},
		},
		{
			name: "upstream sidecar test1 first sidecar started second not",
			pod: &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "test1"},
				Spec:       corev1.PodSpec{InitContainers: []corev1.Container{sidecar("restartable-init-1"), sidecar("restartable-init-2")}, Containers: make([]corev1.Container, 1)},
				Status: corev1.PodStatus{Phase: "Pending",
					InitContainerStatuses: []corev1.ContainerStatus{
						{Name: "restartable-init-1", RestartCount: 3, State: running(), Started: ptr.To(true), LastTerminationState: finished(10 * time.Second)},
						{Name: "restartable-init-2", State: running(), Started: ptr.To(false)},
					},
					ContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{}}}},
					Conditions:        []corev1.PodCondition{{Type: corev1.PodInitialized, Status: corev1.ConditionFalse}},
				},
			},
			want: []any{"test1", "0/3", "Init:1/2", "3 (10s ago)", "<unknown>"},
		},
		{
			name: "upstream sidecar test2 sidecars started and app running",
			pod: &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "test2"},
				Spec:       corev1.PodSpec{InitContainers: []corev1.Container{sidecar("restartable-init-1"), sidecar("restartable-init-2")}, Containers: make([]corev1.Container, 1)},
				Status: corev1.PodStatus{Phase: "Running",
					InitContainerStatuses: []corev1.ContainerStatus{
						{Name: "restartable-init-1", RestartCount: 3, State: running(), Started: ptr.To(true), LastTerminationState: finished(10 * time.Second)},
						{Name: "restartable-init-2", State: running(), Started: ptr.To(true)},
					},
					ContainerStatuses: []corev1.ContainerStatus{{Ready: true, RestartCount: 4, State: running(), LastTerminationState: finished(20 * time.Second)}},
					Conditions:        []corev1.PodCondition{{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}},
				},
			},
			want: []any{"test2", "1/3", "Running", "7 (10s ago)", "<unknown>"},
		},
		{
			name: "upstream sidecar test3 sidecars killed after the app completed",
			pod: &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "test3"},
				Spec:       corev1.PodSpec{InitContainers: []corev1.Container{sidecar("restartable-init-1"), sidecar("restartable-init-2")}, Containers: make([]corev1.Container, 1)},
				Status: corev1.PodStatus{Phase: "Succeeded",
					InitContainerStatuses: []corev1.ContainerStatus{
						{Name: "restartable-init-1", RestartCount: 3, State: terminated("Error", 137), Started: ptr.To(false), LastTerminationState: finished(10 * time.Second)},
						{Name: "restartable-init-2", State: terminated("Error", 137), Started: ptr.To(false)},
					},
					ContainerStatuses: []corev1.ContainerStatus{{RestartCount: 4, State: terminated("Completed", 0), LastTerminationState: finished(20 * time.Second)}},
					Conditions:        []corev1.PodCondition{{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}},
				},
			},
			want:  []any{"test3", "0/3", "Completed", "7 (10s ago)", "<unknown>"},
			conds: succeededRow,
		},
		{
			name: "upstream sidecar test4 statuses for containers not in the spec",
			pod: &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "test4"},
				Spec: corev1.PodSpec{
					InitContainers: []corev1.Container{{Name: "init1", Image: "initimage"}, {Name: "sidecar1", Image: "sidecarimage", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways)}},
					Containers:     []corev1.Container{{Name: "container1", Image: "containerimage"}},
				},
				Status: corev1.PodStatus{Phase: "Running",
					InitContainerStatuses: []corev1.ContainerStatus{{Name: "initinvalid"}, {Name: "init1"}, {Name: "sidecar1"}},
					ContainerStatuses:     []corev1.ContainerStatus{{Name: "containerinvalid"}, {Name: "container1"}},
				},
			},
			want: []any{"test4", "0/2", "Init:0/2", "0", "<unknown>"},
		},

		// upstream TestPrintNonTerminatedPod and TestPrintPodConditions
		{
			name: "upstream phase Running",
			pod: podWith("test1", 2, corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
				{Ready: true, RestartCount: 3, State: running()}, {RestartCount: 3},
			}}),
			want: []any{"test1", "1/2", "Running", "6", "<unknown>"},
		},
		{
			name: "upstream phase Pending",
			pod: podWith("test2", 2, corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{
				{Ready: true, RestartCount: 3, State: running()}, {RestartCount: 3},
			}}),
			want: []any{"test2", "1/2", "Pending", "6", "<unknown>"},
		},
		{
			name: "upstream phase Unknown",
			pod: podWith("test3", 2, corev1.PodStatus{Phase: corev1.PodUnknown, ContainerStatuses: []corev1.ContainerStatus{
				{Ready: true, RestartCount: 3, State: running()}, {RestartCount: 3},
			}}),
			want: []any{"test3", "1/2", "Unknown", "6", "<unknown>"},
		},
		{
			name: "upstream phase Succeeded carries the Completed row condition",
			pod: podWith("test4", 2, corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{
				{Ready: true, RestartCount: 3, State: running()}, {RestartCount: 3},
			}}),
			want:  []any{"test4", "1/2", "Succeeded", "6", "<unknown>"},
			conds: succeededRow,
		},
		{
			name: "upstream phase Failed carries the failed row condition",
			pod: podWith("test5", 2, corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{
				{Ready: true, RestartCount: 3, State: running()}, {Ready: true, RestartCount: 3},
			}}),
			want:  []any{"test5", "1/2", "Failed", "6", "<unknown>"},
			conds: failedRow,
		},

		// Derived from printPod: the states users meet most.
		{
			name: "derived ContainerCreating",
			pod:  podWith("p", 1, corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{State: waiting("ContainerCreating")}}}),
			want: []any{"p", "0/1", "ContainerCreating", "0", "<unknown>"},
		},
		{
			name: "derived Pending before scheduling",
			pod: podWith("p", 1, corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable"},
			}}),
			want: []any{"p", "0/1", "Pending", "0", "<unknown>"},
		},
		{
			name: "derived CrashLoopBackOff with restart age",
			pod: podWith("p", 1, corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
				{RestartCount: 5, State: waiting("CrashLoopBackOff"), LastTerminationState: finished(90 * time.Second)},
			}}),
			want: []any{"p", "0/1", "CrashLoopBackOff", "5 (90s ago)", "<unknown>"},
		},
		{
			name: "derived ImagePullBackOff",
			pod:  podWith("p", 1, corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{State: waiting("ImagePullBackOff")}}}),
			want: []any{"p", "0/1", "ImagePullBackOff", "0", "<unknown>"},
		},
		{
			name: "derived ErrImagePull",
			pod:  podWith("p", 1, corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{State: waiting("ErrImagePull")}}}),
			want: []any{"p", "0/1", "ErrImagePull", "0", "<unknown>"},
		},
		{
			name: "derived OOMKilled",
			pod: podWith("p", 1, corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{
				{State: terminated("OOMKilled", 137)},
			}}),
			want:  []any{"p", "0/1", "OOMKilled", "0", "<unknown>"},
			conds: failedRow,
		},
		{
			name: "derived terminated without reason shows the signal",
			pod: podWith("p", 1, corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{
				{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Signal: 9}}},
			}}),
			want:  []any{"p", "0/1", "Signal:9", "0", "<unknown>"},
			conds: failedRow,
		},
		{
			name: "derived terminated without reason or signal shows the exit code",
			pod: podWith("p", 1, corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{
				{State: terminated("", 3)},
			}}),
			want:  []any{"p", "0/1", "ExitCode:3", "0", "<unknown>"},
			conds: failedRow,
		},
		{
			name: "derived Job pod that failed being deleted keeps Error",
			pod: func() *corev1.Pod {
				p := podWith("p", 1, corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{State: terminated("Error", 1)}}})
				p.DeletionTimestamp = deleted
				return p
			}(),
			want:  []any{"p", "0/1", "Error", "0", "<unknown>"},
			conds: failedRow,
		},
		{
			name:  "derived Evicted",
			pod:   podWith("p", 1, corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted"}),
			want:  []any{"p", "0/1", "Evicted", "0", "<unknown>"},
			conds: failedRow,
		},
		{
			name: "derived NodeLost pod being deleted is Unknown",
			pod: func() *corev1.Pod {
				p := podWith("p", 1, corev1.PodStatus{Phase: corev1.PodRunning, Reason: "NodeLost", ContainerStatuses: []corev1.ContainerStatus{{Ready: true, State: running()}}})
				p.DeletionTimestamp = deleted
				return p
			}(),
			want: []any{"p", "1/1", "Unknown", "0", "<unknown>"},
		},
		{
			name: "derived NodeLost pod not being deleted shows the reason",
			pod:  podWith("p", 1, corev1.PodStatus{Phase: corev1.PodRunning, Reason: "NodeLost", ContainerStatuses: []corev1.ContainerStatus{{Ready: true, State: running()}}}),
			want: []any{"p", "1/1", "NodeLost", "0", "<unknown>"},
		},
		{
			name: "derived Init CrashLoopBackOff",
			pod: &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "p"},
				Spec:       corev1.PodSpec{InitContainers: make([]corev1.Container, 1), Containers: make([]corev1.Container, 1)},
				Status: corev1.PodStatus{Phase: corev1.PodPending,
					InitContainerStatuses: []corev1.ContainerStatus{{RestartCount: 2, State: waiting("CrashLoopBackOff"), LastTerminationState: finished(30 * time.Second)}},
					ContainerStatuses:     []corev1.ContainerStatus{{State: waiting("PodInitializing")}},
				},
			},
			want: []any{"p", "0/1", "Init:CrashLoopBackOff", "2 (30s ago)", "<unknown>"},
		},
		{
			name: "derived Init Error",
			pod: &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "p"},
				Spec:       corev1.PodSpec{InitContainers: make([]corev1.Container, 1), Containers: make([]corev1.Container, 1)},
				Status: corev1.PodStatus{Phase: corev1.PodFailed,
					InitContainerStatuses: []corev1.ContainerStatus{{State: terminated("Error", 1)}},
					ContainerStatuses:     []corev1.ContainerStatus{{State: waiting("PodInitializing")}},
				},
			},
			want:  []any{"p", "0/1", "Init:Error", "0", "<unknown>"},
			conds: failedRow,
		},
		{
			name: "derived Init ExitCode without reason",
			pod: &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "p"},
				Spec:       corev1.PodSpec{InitContainers: make([]corev1.Container, 2), Containers: make([]corev1.Container, 1)},
				Status: corev1.PodStatus{Phase: corev1.PodPending,
					InitContainerStatuses: []corev1.ContainerStatus{{State: terminated("Completed", 0)}, {State: terminated("", 2)}},
				},
			},
			want: []any{"p", "0/1", "Init:ExitCode:2", "0", "<unknown>"},
		},
		{
			name: "derived Init Signal without reason",
			pod: &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "p"},
				Spec:       corev1.PodSpec{InitContainers: make([]corev1.Container, 1), Containers: make([]corev1.Container, 1)},
				Status: corev1.PodStatus{Phase: corev1.PodPending,
					InitContainerStatuses: []corev1.ContainerStatus{{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 143, Signal: 15}}}},
				},
			},
			want: []any{"p", "0/1", "Init:Signal:15", "0", "<unknown>"},
		},
		{
			name: "derived init waiting with PodInitializing counts as in progress",
			pod: &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "p"},
				Spec:       corev1.PodSpec{InitContainers: make([]corev1.Container, 3), Containers: make([]corev1.Container, 1)},
				Status: corev1.PodStatus{Phase: corev1.PodPending,
					InitContainerStatuses: []corev1.ContainerStatus{{State: terminated("Completed", 0)}, {State: waiting("PodInitializing")}, {}},
				},
			},
			want: []any{"p", "0/1", "Init:1/3", "0", "<unknown>"},
		},
		{
			name: "derived Job pod with a sidecar running",
			pod: &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "p"},
				Spec:       corev1.PodSpec{InitContainers: []corev1.Container{sidecar("proxy")}, Containers: []corev1.Container{{Name: "main"}}},
				Status: corev1.PodStatus{Phase: corev1.PodRunning,
					InitContainerStatuses: []corev1.ContainerStatus{{Name: "proxy", Ready: true, Started: ptr.To(true), State: running()}},
					ContainerStatuses:     []corev1.ContainerStatus{{Name: "main", Ready: true, Started: ptr.To(true), State: running()}},
					Conditions: []corev1.PodCondition{
						{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}, {Type: corev1.PodReady, Status: corev1.ConditionTrue},
					},
				},
			},
			want: []any{"p", "2/2", "Running", "0", "<unknown>"},
		},
		{
			name: "derived any True Ready condition counts for Running",
			pod: podWith("p", 2, corev1.PodStatus{Phase: corev1.PodRunning,
				ContainerStatuses: []corev1.ContainerStatus{{State: terminated("Completed", 0)}, {Ready: true, State: running()}},
				Conditions: []corev1.PodCondition{
					{Type: corev1.PodReady, Status: corev1.ConditionFalse}, {Type: corev1.PodReady, Status: corev1.ConditionTrue},
				},
			}),
			want: []any{"p", "1/2", "Running", "0", "<unknown>"},
		},
		{
			name: "derived restarts without a recorded termination have no age",
			pod: podWith("p", 1, corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
				{Ready: true, RestartCount: 2, State: running()},
			}}),
			want: []any{"p", "1/1", "Running", "2", "<unknown>"},
		},
		{
			name: "derived age of the pod",
			pod: func() *corev1.Pod {
				p := podWith("p", 1, corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Ready: true, State: running()}}})
				p.CreationTimestamp = ago(4*time.Minute + 7*time.Second)
				return p
			}(),
			want: []any{"p", "1/1", "Running", "0", "4m7s"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rowOf(t, tt.pod)
			want := metav1.TableRow{Cells: append(tt.want, noWide...), Conditions: tt.conds}
			if tt.pod.Spec.NodeName != "" || tt.pod.Status.PodIP != "" {
				t.Fatal("test pods in TestPodRow have no wide data")
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("row mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPodWideRow ports upstream's TestPrintPodwide: IP, Node, Nominated
// Node and Readiness Gates.
func TestPodWideRow(t *testing.T) {
	gates := []corev1.PodReadinessGate{{ConditionType: "condition1"}, {ConditionType: "condition2"}, {ConditionType: "condition3"}}
	gateConds := []corev1.PodCondition{{Type: "condition1", Status: corev1.ConditionFalse}, {Type: "condition2", Status: corev1.ConditionTrue}}
	statuses := []corev1.ContainerStatus{{Ready: true, RestartCount: 3, State: running()}, {RestartCount: 3}}
	tests := []struct {
		name string
		pod  *corev1.Pod
		want []any
	}{
		{
			name: "upstream node IP nominated node and gates",
			pod: &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "test1"},
				Spec:       corev1.PodSpec{Containers: make([]corev1.Container, 2), NodeName: "test1", ReadinessGates: gates},
				Status: corev1.PodStatus{Conditions: gateConds, Phase: "podPhase", PodIPs: []corev1.PodIP{{IP: "1.1.1.1"}},
					ContainerStatuses: statuses, NominatedNodeName: "node1"},
			},
			want: []any{"test1", "1/2", "podPhase", "6", "<unknown>", "1.1.1.1", "test1", "node1", "1/3"},
		},
		{
			name: "upstream dual stack shows the first IP",
			pod: &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "test1"},
				Spec:       corev1.PodSpec{Containers: make([]corev1.Container, 2), NodeName: "test1", ReadinessGates: gates},
				Status: corev1.PodStatus{Conditions: gateConds, Phase: "podPhase", PodIPs: []corev1.PodIP{{IP: "1.1.1.1"}, {IP: "2001:db8::"}},
					ContainerStatuses: statuses, NominatedNodeName: "node1"},
			},
			want: []any{"test1", "1/2", "podPhase", "6", "<unknown>", "1.1.1.1", "test1", "node1", "1/3"},
		},
		{
			name: "upstream nothing scheduled",
			pod: podWith("test2", 2, corev1.PodStatus{Phase: "podPhase", ContainerStatuses: []corev1.ContainerStatus{
				{Ready: true, RestartCount: 3, State: running()}, {State: waiting("ContainerWaitingReason"), RestartCount: 3},
			}}),
			want: []any{"test2", "1/2", "ContainerWaitingReason", "6", "<unknown>", "<none>", "<none>", "<none>", "<none>"},
		},
		{
			name: "derived podIP alone is printed as upstream's conversion fills podIPs",
			pod:  &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Status: corev1.PodStatus{PodIP: "10.0.0.7"}},
			want: []any{"p", "0/0", "", "0", "<unknown>", "10.0.0.7", "<none>", "<none>", "<none>"},
		},
		{
			name: "derived podIP wins over a different first podIPs entry",
			pod:  &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Status: corev1.PodStatus{PodIP: "10.0.0.7", PodIPs: []corev1.PodIP{{IP: "10.0.0.8"}}}},
			want: []any{"p", "0/0", "", "0", "<unknown>", "10.0.0.7", "<none>", "<none>", "<none>"},
		},
		{
			name: "derived gate condition False counts zero",
			pod: &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: "p"},
				Spec:       corev1.PodSpec{ReadinessGates: []corev1.PodReadinessGate{{ConditionType: "x"}}},
				Status:     corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: "x", Status: corev1.ConditionFalse}}},
			},
			want: []any{"p", "0/0", "", "0", "<unknown>", "<none>", "<none>", "<none>", "0/1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, cellsOf(t, tt.pod)); diff != "" {
				t.Errorf("cells mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPodList ports upstream's TestPrintPodList: one row per pod, in order.
func TestPodList(t *testing.T) {
	list := &corev1.PodList{Items: []corev1.Pod{
		*podWith("test1", 2, corev1.PodStatus{Phase: "podPhase", ContainerStatuses: []corev1.ContainerStatus{
			{Ready: true, RestartCount: 3, State: running()}, {Ready: true, RestartCount: 3, State: running()},
		}}),
		*podWith("test2", 1, corev1.PodStatus{Phase: "podPhase", ContainerStatuses: []corev1.ContainerStatus{
			{Ready: true, RestartCount: 1, State: running()},
		}}),
	}}
	tbl, err := Convert(list, Options{Now: now, NoHeaders: true})
	if err != nil {
		t.Fatal(err)
	}
	var got [][]any
	for _, r := range tbl.Rows {
		got = append(got, r.Cells[:5])
	}
	want := [][]any{{"test1", "2/2", "podPhase", "6", "<unknown>"}, {"test2", "1/1", "podPhase", "1", "<unknown>"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows mismatch (-want +got):\n%s", diff)
	}
}
