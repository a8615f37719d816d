package table

import (
	batchv1 "k8s.io/api/batch/v1"
	batchv1beta1 "k8s.io/api/batch/v1beta1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Column definitions, in upstream's order with upstream's names, types,
// formats, priorities and descriptions (AddHandlers in
// pkg/printers/internalversion/printers.go; descriptions come from the
// same generated API docs upstream reads, including its use of the
// batch/v1beta1 CronJob docs). Priority 1 columns are the -o wide ones.
// They are built per call so no caller can change another's copy.

// Descriptions upstream writes out rather than taking from API docs.
const (
	descContainers     = "Names of each container in the template."
	descImages         = "Images referenced by each container in the template."
	descPodReady       = "The aggregate readiness state of this pod for accepting traffic."
	descPodStatus      = "The aggregate status of the containers in this pod."
	descPodRestarts    = "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."
	descJobStatus      = "Status of the job."
	descJobDuration    = "Time required to complete the job."
	descNodeStatus     = "The status of the node"
	descNodeRoles      = "The roles of the node"
	descNamespaceState = "The status of the namespace"
)

// Column types and formats used by upstream's printers.
const (
	typeString  = "string"
	typeInteger = "integer"
	typeBoolean = "boolean"
	typeDate    = "date"
	formatName  = "name"
)

func nameColumn(doc map[string]string) metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Name", Type: typeString, Format: formatName, Description: doc["name"]}
}

func ageColumn(doc map[string]string) metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: "Age", Type: typeString, Description: doc["creationTimestamp"]}
}

func jobColumns() []metav1.TableColumnDefinition {
	m := metav1.ObjectMeta{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(m),
		{Name: "Status", Type: typeString, Description: descJobStatus},
		{Name: "Completions", Type: typeString, Description: batchv1.JobStatus{}.SwaggerDoc()["succeeded"]},
		{Name: "Duration", Type: typeString, Description: descJobDuration},
		ageColumn(m),
		{Name: "Containers", Type: typeString, Priority: 1, Description: descContainers},
		{Name: "Images", Type: typeString, Priority: 1, Description: descImages},
		{Name: "Selector", Type: typeString, Priority: 1, Description: batchv1.JobSpec{}.SwaggerDoc()["selector"]},
	}
}

func cronJobColumns() []metav1.TableColumnDefinition {
	m := metav1.ObjectMeta{}.SwaggerDoc()
	spec, status := batchv1beta1.CronJobSpec{}.SwaggerDoc(), batchv1beta1.CronJobStatus{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(m),
		{Name: "Schedule", Type: typeString, Description: spec["schedule"]},
		{Name: "Timezone", Type: typeString, Description: spec["timeZone"]},
		{Name: "Suspend", Type: typeBoolean, Description: spec["suspend"]},
		{Name: "Active", Type: typeInteger, Description: status["active"]},
		{Name: "Last Schedule", Type: typeString, Description: status["lastScheduleTime"]},
		ageColumn(m),
		{Name: "Containers", Type: typeString, Priority: 1, Description: descContainers},
		{Name: "Images", Type: typeString, Priority: 1, Description: descImages},
		{Name: "Selector", Type: typeString, Priority: 1, Description: batchv1.JobSpec{}.SwaggerDoc()["selector"]},
	}
}

func podColumns() []metav1.TableColumnDefinition {
	m := metav1.ObjectMeta{}.SwaggerDoc()
	spec, status := corev1.PodSpec{}.SwaggerDoc(), corev1.PodStatus{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(m),
		{Name: "Ready", Type: typeString, Description: descPodReady},
		{Name: "Status", Type: typeString, Description: descPodStatus},
		{Name: "Restarts", Type: typeString, Description: descPodRestarts},
		ageColumn(m),
		{Name: "IP", Type: typeString, Priority: 1, Description: status["podIP"]},
		{Name: "Node", Type: typeString, Priority: 1, Description: spec["nodeName"]},
		{Name: "Nominated Node", Type: typeString, Priority: 1, Description: status["nominatedNodeName"]},
		{Name: "Readiness Gates", Type: typeString, Priority: 1, Description: spec["readinessGates"]},
	}
}

// eventColumns serve core/v1 and events.k8s.io/v1 Events alike: upstream
// prints both from the same internal Event.
func eventColumns() []metav1.TableColumnDefinition {
	m := metav1.ObjectMeta{}.SwaggerDoc()
	ev := corev1.Event{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		{Name: "Last Seen", Type: typeString, Description: ev["lastTimestamp"]},
		{Name: "Type", Type: typeString, Description: ev["type"]},
		{Name: "Reason", Type: typeString, Description: ev["reason"]},
		{Name: "Object", Type: typeString, Description: ev["involvedObject"]},
		{Name: "Subobject", Type: typeString, Priority: 1, Description: corev1.ObjectReference{}.SwaggerDoc()["fieldPath"]},
		{Name: "Source", Type: typeString, Priority: 1, Description: ev["source"]},
		{Name: "Message", Type: typeString, Description: ev["message"]},
		{Name: "First Seen", Type: typeString, Priority: 1, Description: ev["firstTimestamp"]},
		{Name: "Count", Type: typeString, Priority: 1, Description: ev["count"]},
		{Name: "Name", Type: typeString, Priority: 1, Format: formatName, Description: m["name"]},
	}
}

func namespaceColumns() []metav1.TableColumnDefinition {
	m := metav1.ObjectMeta{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(m),
		{Name: "Status", Type: typeString, Description: descNamespaceState},
		ageColumn(m),
	}
}

func nodeColumns() []metav1.TableColumnDefinition {
	m := metav1.ObjectMeta{}.SwaggerDoc()
	info, status := corev1.NodeSystemInfo{}.SwaggerDoc(), corev1.NodeStatus{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(m),
		{Name: "Status", Type: typeString, Description: descNodeStatus},
		{Name: "Roles", Type: typeString, Description: descNodeRoles},
		ageColumn(m),
		{Name: "Version", Type: typeString, Description: info["kubeletVersion"]},
		{Name: "Internal-IP", Type: typeString, Priority: 1, Description: status["addresses"]},
		{Name: "External-IP", Type: typeString, Priority: 1, Description: status["addresses"]},
		{Name: "OS-Image", Type: typeString, Priority: 1, Description: info["osImage"]},
		{Name: "Kernel-Version", Type: typeString, Priority: 1, Description: info["kernelVersion"]},
		{Name: "Container-Runtime", Type: typeString, Priority: 1, Description: info["containerRuntimeVersion"]},
	}
}

func configMapColumns() []metav1.TableColumnDefinition {
	m := metav1.ObjectMeta{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(m),
		{Name: "Data", Type: typeString, Description: corev1.ConfigMap{}.SwaggerDoc()["data"]},
		ageColumn(m),
	}
}

func secretColumns() []metav1.TableColumnDefinition {
	m := metav1.ObjectMeta{}.SwaggerDoc()
	s := corev1.Secret{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(m),
		{Name: "Type", Type: typeString, Description: s["type"]},
		{Name: "Data", Type: typeString, Description: s["data"]},
		ageColumn(m),
	}
}

func serviceAccountColumns() []metav1.TableColumnDefinition {
	m := metav1.ObjectMeta{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(m),
		{Name: "Secrets", Type: typeString, Description: corev1.ServiceAccount{}.SwaggerDoc()["secrets"]},
		ageColumn(m),
	}
}

func leaseColumns() []metav1.TableColumnDefinition {
	m := metav1.ObjectMeta{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(m),
		{Name: "Holder", Type: typeString, Description: coordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"]},
		ageColumn(m),
	}
}

// defaultColumns are upstream's default table convertor's.
func defaultColumns() []metav1.TableColumnDefinition {
	m := metav1.ObjectMeta{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(m),
		{Name: "Created At", Type: typeDate, Description: m["creationTimestamp"]},
	}
}
