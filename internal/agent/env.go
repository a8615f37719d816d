package agent

import (
	"context"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/batchd/batchd/internal/podruntime"
)

// containerSpec turns a pod's container into what the runtime runs: argv
// with $(VAR) expanded, the environment, mounts and limits.
func (a *Agent) containerSpec(ctx context.Context, pod *corev1.Pod, c *corev1.Container, attempt uint32) (podruntime.ContainerSpec, error) {
	env, err := a.containerEnv(ctx, pod, c)
	if err != nil {
		return podruntime.ContainerSpec{}, err
	}
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	var argv []string
	for _, s := range c.Command {
		argv = append(argv, expand(s, vars))
	}
	for _, s := range c.Args {
		argv = append(argv, expand(s, vars))
	}
	if len(argv) == 0 {
		// No image entrypoint on host processes: a container with no
		// command blocks until terminated, like a pause container.
		argv = []string{"sleep", "infinity"}
	}
	mounts, err := a.mounts(ctx, pod, c)
	if err != nil {
		return podruntime.ContainerSpec{}, err
	}
	if m, ok, err := a.serviceAccountMount(ctx, pod, c); err != nil {
		return podruntime.ContainerSpec{}, err
	} else if ok {
		mounts = append(mounts, m)
	}
	if m, ok, err := a.terminationMount(pod, c, attempt); err != nil {
		return podruntime.ContainerSpec{}, err
	} else if ok {
		mounts = append(mounts, m)
	}
	return podruntime.ContainerSpec{
		Name:       c.Name,
		Attempt:    attempt,
		Command:    argv,
		Env:        env,
		WorkingDir: c.WorkingDir,
		Mounts:     mounts,
		Resources:  limits(c),
	}, nil
}

func limits(c *corev1.Container) podruntime.Resources {
	var r podruntime.Resources
	if q, ok := c.Resources.Requests[corev1.ResourceCPU]; ok {
		r.CPURequestMilli = q.MilliValue()
	}
	if q, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		r.CPULimitMilli = q.MilliValue()
	}
	if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		r.MemoryLimitBytes = q.Value()
	}
	return r
}

// containerEnv is kubelet's makeEnvironmentVariables: envFrom first, then
// env in order, each value expanded against the variables before it, and
// the service environment variables of the default kubernetes service.
func (a *Agent) containerEnv(ctx context.Context, pod *corev1.Pod, c *corev1.Container) ([]string, error) {
	vars := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	if h, p := a.cfg.ServiceHost, a.cfg.ServicePort; h != "" {
		// The kubernetes service's variables, in kubelet's order (its
		// port is named https).
		addr := "tcp://" + net.JoinHostPort(h, p)
		prefix := "KUBERNETES_PORT_" + p + "_TCP"
		set("KUBERNETES_SERVICE_HOST", h)
		set("KUBERNETES_SERVICE_PORT", p)
		set("KUBERNETES_SERVICE_PORT_HTTPS", p)
		set("KUBERNETES_PORT", addr)
		set(prefix, addr)
		set(prefix+"_PROTO", "tcp")
		set(prefix+"_PORT", p)
		set(prefix+"_ADDR", h)
	}
	for _, from := range c.EnvFrom {
		var data map[string]string
		switch {
		case from.ConfigMapRef != nil:
			cm, err := a.client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, from.ConfigMapRef.Name, metav1.GetOptions{})
			if err != nil {
				if ptrTrue(from.ConfigMapRef.Optional) {
					continue
				}
				return nil, fmt.Errorf("configmap %q: %w", from.ConfigMapRef.Name, err)
			}
			data = cm.Data
		case from.SecretRef != nil:
			s, err := a.client.CoreV1().Secrets(pod.Namespace).Get(ctx, from.SecretRef.Name, metav1.GetOptions{})
			if err != nil {
				if ptrTrue(from.SecretRef.Optional) {
					continue
				}
				return nil, fmt.Errorf("secret %q: %w", from.SecretRef.Name, err)
			}
			data = map[string]string{}
			for k, v := range s.Data {
				data[k] = string(v)
			}
		}
		for k, v := range data {
			set(from.Prefix+k, v)
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			set(e.Name, expand(e.Value, vars))
			continue
		}
		v, ok, err := a.envValueFrom(ctx, pod, c, e.ValueFrom)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		if ok {
			set(e.Name, v)
		}
	}
	env := make([]string, 0, len(order))
	for _, k := range order {
		env = append(env, k+"="+vars[k])
	}
	return env, nil
}

func (a *Agent) envValueFrom(ctx context.Context, pod *corev1.Pod, c *corev1.Container, src *corev1.EnvVarSource) (string, bool, error) {
	switch {
	case src.FieldRef != nil:
		v, err := a.fieldValue(pod, src.FieldRef.FieldPath)
		return v, err == nil, err
	case src.ResourceFieldRef != nil:
		v, err := resourceValue(c, src.ResourceFieldRef)
		return v, err == nil, err
	case src.ConfigMapKeyRef != nil:
		r := src.ConfigMapKeyRef
		cm, err := a.client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
		if err != nil {
			if ptrTrue(r.Optional) {
				return "", false, nil
			}
			return "", false, fmt.Errorf("configmap %q: %w", r.Name, err)
		}
		v, ok := cm.Data[r.Key]
		if !ok && !ptrTrue(r.Optional) {
			return "", false, fmt.Errorf("couldn't find key %s in ConfigMap %s/%s", r.Key, pod.Namespace, r.Name)
		}
		return v, ok, nil
	case src.SecretKeyRef != nil:
		r := src.SecretKeyRef
		s, err := a.client.CoreV1().Secrets(pod.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
		if err != nil {
			if ptrTrue(r.Optional) {
				return "", false, nil
			}
			return "", false, fmt.Errorf("secret %q: %w", r.Name, err)
		}
		v, ok := s.Data[r.Key]
		if !ok && !ptrTrue(r.Optional) {
			return "", false, fmt.Errorf("couldn't find key %s in Secret %s/%s", r.Key, pod.Namespace, r.Name)
		}
		return string(v), ok, nil
	}
	return "", false, nil
}

// fieldValue resolves a downward-API fieldRef (JOB-AGENT-05).
func (a *Agent) fieldValue(pod *corev1.Pod, path string) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.podIP", "status.hostIPs", "status.podIPs":
		return a.hostIP, nil
	}
	for prefix, m := range map[string]map[string]string{"metadata.labels": pod.Labels, "metadata.annotations": pod.Annotations} {
		if rest, ok := strings.CutPrefix(path, prefix+"['"); ok {
			if key, ok := strings.CutSuffix(rest, "']"); ok {
				return m[key], nil
			}
		}
	}
	return "", fmt.Errorf("unsupported fieldPath %q", path)
}

// resourceValue is a resourceFieldRef, rounded up in its divisor; a limit
// that is not set is the node's capacity.
func resourceValue(c *corev1.Container, r *corev1.ResourceFieldSelector) (string, error) {
	div := r.Divisor
	if div.IsZero() {
		div = resource.MustParse("1")
	}
	var q resource.Quantity
	switch r.Resource {
	case "limits.cpu":
		q = c.Resources.Limits[corev1.ResourceCPU]
	case "requests.cpu":
		q = c.Resources.Requests[corev1.ResourceCPU]
	case "limits.memory":
		q = c.Resources.Limits[corev1.ResourceMemory]
	case "requests.memory":
		q = c.Resources.Requests[corev1.ResourceMemory]
	case "limits.ephemeral-storage":
		q = c.Resources.Limits[corev1.ResourceEphemeralStorage]
	case "requests.ephemeral-storage":
		q = c.Resources.Requests[corev1.ResourceEphemeralStorage]
	default:
		return "", fmt.Errorf("unsupported resource %q", r.Resource)
	}
	if strings.HasSuffix(r.Resource, ".cpu") {
		if q.IsZero() && r.Resource == "limits.cpu" {
			q = *resource.NewQuantity(int64(numCPU()), resource.DecimalSI)
		}
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(div.MilliValue()))), 10), nil
	}
	if q.IsZero() && r.Resource == "limits.memory" {
		q = *resource.NewQuantity(memTotal(), resource.BinarySI)
	}
	return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(div.Value()))), 10), nil
}

func ptrTrue(b *bool) bool { return b != nil && *b }

// expand is Kubernetes' $(VAR) expansion: $(VAR) of a defined variable is
// replaced, $$ is an escaped $, anything else is kept as written.
func expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
