package table

import (
	"sort"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Node STATUS and ROLES inputs (upstream's printNode and findNodeRoles).
const (
	nodeUnknown            = "Unknown"
	nodeNotPrefix          = "Not"
	nodeSchedulingDisabled = "SchedulingDisabled"
	nodeRoleLabelPrefix    = "node-role.kubernetes.io/"
	nodeRoleLabel          = "kubernetes.io/role"
)

func eventPrinter() printer {
	return printerOf(corev1.SchemeGroupVersion.WithKind("Event"), eventColumns, func(e *corev1.Event, now time.Time) metav1.TableRow {
		return eventRow(coreEvent(e), now)
	})
}

func eventsV1Printer() printer {
	return printerOf(eventsv1.SchemeGroupVersion.WithKind("Event"), eventColumns, func(e *eventsv1.Event, now time.Time) metav1.TableRow {
		return eventRow(eventsV1Event(e), now)
	})
}

// event holds what upstream's printEvent reads from its internal Event,
// which both core/v1 and events.k8s.io/v1 Events convert to.
type event struct {
	name                 string
	eventType, reason    string
	message              string
	regarding            corev1.ObjectReference
	source               corev1.EventSource
	reportingController  string
	reportingInstance    string
	firstTime, lastTime  time.Time
	eventTime            time.Time
	count                int32
	series               bool
	seriesCount          int32
	seriesLastObservedAt time.Time
}

func coreEvent(e *corev1.Event) event {
	ev := event{
		name: e.Name, eventType: e.Type, reason: e.Reason, message: e.Message,
		regarding: e.InvolvedObject, source: e.Source,
		reportingController: e.ReportingController, reportingInstance: e.ReportingInstance,
		firstTime: e.FirstTimestamp.Time, lastTime: e.LastTimestamp.Time, eventTime: e.EventTime.Time,
		count: e.Count,
	}
	if s := e.Series; s != nil {
		ev.series, ev.seriesCount, ev.seriesLastObservedAt = true, s.Count, s.LastObservedTime.Time
	}
	return ev
}

// eventsV1Event maps an events.k8s.io/v1 Event the way upstream's
// conversion to the internal Event does: regarding is the involved object,
// note the message, and the deprecated* fields the old ones.
func eventsV1Event(e *eventsv1.Event) event {
	ev := event{
		name: e.Name, eventType: e.Type, reason: e.Reason, message: e.Note,
		regarding: e.Regarding, source: e.DeprecatedSource,
		reportingController: e.ReportingController, reportingInstance: e.ReportingInstance,
		firstTime: e.DeprecatedFirstTimestamp.Time, lastTime: e.DeprecatedLastTimestamp.Time, eventTime: e.EventTime.Time,
		count: e.DeprecatedCount,
	}
	if s := e.Series; s != nil {
		ev.series, ev.seriesCount, ev.seriesLastObservedAt = true, s.Count, s.LastObservedTime.Time
	}
	return ev
}

// eventRow is upstream's printEvent.
func eventRow(e event, now time.Time) metav1.TableRow {
	first := since(e.firstTime, now)
	if e.firstTime.IsZero() {
		first = since(e.eventTime, now)
	}
	last := since(e.lastTime, now)
	if e.lastTime.IsZero() {
		last = first
	}
	count := e.count
	if e.series {
		last = since(e.seriesLastObservedAt, now)
		count = e.seriesCount
	} else if count == 0 {
		count = 1 // singleton events of the new API carry no count
	}
	target := strings.ToLower(e.regarding.Kind)
	if e.regarding.Name != "" {
		target += "/" + e.regarding.Name
	}
	return metav1.TableRow{Cells: []any{
		last, e.eventType, e.reason, target, e.regarding.FieldPath,
		eventSource(e), strings.TrimSpace(e.message), first, int64(count), e.name,
	}}
}

// eventSource is "component, host", falling back to the reporting
// controller and instance, without ", " when there is no host.
func eventSource(e event) string {
	component, instance := e.source.Component, e.source.Host
	if component == "" {
		component = e.reportingController
	}
	if instance == "" {
		instance = e.reportingInstance
	}
	if instance == "" {
		return component
	}
	return component + ", " + instance
}

func namespacePrinter() printer {
	return printerOf(corev1.SchemeGroupVersion.WithKind("Namespace"), namespaceColumns, func(ns *corev1.Namespace, now time.Time) metav1.TableRow {
		return metav1.TableRow{Cells: []any{ns.Name, string(ns.Status.Phase), since(ns.CreationTimestamp.Time, now)}}
	})
}

func nodePrinter() printer {
	return printerOf(corev1.SchemeGroupVersion.WithKind("Node"), nodeColumns, nodeRow)
}

// nodeRow is upstream's printNode: STATUS is Ready or NotReady from the
// last Ready condition (Unknown without one), plus SchedulingDisabled for a
// cordoned node; ROLES come from node-role.kubernetes.io/<role> and
// kubernetes.io/role labels, sorted.
func nodeRow(node *corev1.Node, now time.Time) metav1.TableRow {
	var readyCond *corev1.NodeCondition
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == corev1.NodeReady {
			readyCond = &node.Status.Conditions[i]
		}
	}
	var status []string
	switch {
	case readyCond == nil:
		status = append(status, nodeUnknown)
	case readyCond.Status == corev1.ConditionTrue:
		status = append(status, string(corev1.NodeReady))
	default:
		status = append(status, nodeNotPrefix+string(corev1.NodeReady))
	}
	if node.Spec.Unschedulable {
		status = append(status, nodeSchedulingDisabled)
	}
	roles := orNone(strings.Join(nodeRoles(node), ","))
	info := node.Status.NodeInfo
	return metav1.TableRow{Cells: []any{
		node.Name, strings.Join(status, ","), roles, since(node.CreationTimestamp.Time, now), info.KubeletVersion,
		nodeAddress(node, corev1.NodeInternalIP), nodeAddress(node, corev1.NodeExternalIP),
		orUnknown(info.OSImage), orUnknown(info.KernelVersion), orUnknown(info.ContainerRuntimeVersion),
	}}
}

func nodeRoles(node *corev1.Node) []string {
	set := map[string]bool{}
	for k, v := range node.Labels {
		switch {
		case strings.HasPrefix(k, nodeRoleLabelPrefix):
			if role := strings.TrimPrefix(k, nodeRoleLabelPrefix); role != "" {
				set[role] = true
			}
		case k == nodeRoleLabel && v != "":
			set[v] = true
		}
	}
	roles := make([]string, 0, len(set))
	for r := range set {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	return roles
}

// nodeAddress is the node's first address of type t, or "<none>".
func nodeAddress(node *corev1.Node, t corev1.NodeAddressType) string {
	for _, a := range node.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return none
}

func orUnknown(s string) string {
	if s == "" {
		return unknown
	}
	return s
}

func configMapPrinter() printer {
	return printerOf(corev1.SchemeGroupVersion.WithKind("ConfigMap"), configMapColumns, func(cm *corev1.ConfigMap, now time.Time) metav1.TableRow {
		return metav1.TableRow{Cells: []any{cm.Name, int64(len(cm.Data) + len(cm.BinaryData)), since(cm.CreationTimestamp.Time, now)}}
	})
}

func secretPrinter() printer {
	return printerOf(corev1.SchemeGroupVersion.WithKind("Secret"), secretColumns, func(s *corev1.Secret, now time.Time) metav1.TableRow {
		return metav1.TableRow{Cells: []any{s.Name, string(s.Type), int64(secretKeys(s)), since(s.CreationTimestamp.Time, now)}}
	})
}

// secretKeys counts the keys of data and stringData together: upstream
// prints the internal Secret, into whose data conversion merges stringData.
func secretKeys(s *corev1.Secret) int {
	n := len(s.Data)
	for k := range s.StringData {
		if _, dup := s.Data[k]; !dup {
			n++
		}
	}
	return n
}

func serviceAccountPrinter() printer {
	return printerOf(corev1.SchemeGroupVersion.WithKind("ServiceAccount"), serviceAccountColumns, func(sa *corev1.ServiceAccount, now time.Time) metav1.TableRow {
		return metav1.TableRow{Cells: []any{sa.Name, int64(len(sa.Secrets)), since(sa.CreationTimestamp.Time, now)}}
	})
}

func leasePrinter() printer {
	return printerOf(coordinationv1.SchemeGroupVersion.WithKind("Lease"), leaseColumns, func(l *coordinationv1.Lease, now time.Time) metav1.TableRow {
		holder := ""
		if l.Spec.HolderIdentity != nil {
			holder = *l.Spec.HolderIdentity
		}
		return metav1.TableRow{Cells: []any{l.Name, holder, since(l.CreationTimestamp.Time, now)}}
	})
}
