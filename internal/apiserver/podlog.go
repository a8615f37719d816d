package apiserver

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// logSubresource is pods/log: GET streams a container's log from the node
// agent that runs the pod, as upstream's API server proxies to kubelet's
// /containerLogs. The agent's certificate is not verified (upstream's
// behaviour without --kubelet-certificate-authority); the request carries
// Config.NodeToken, which agents require.
const logSubresource = "log"

// defaultContainerAnnotation names the container kubectl (and this
// endpoint) picks when a pod has several.
const defaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

// logQueryParams are the PodLogOptions passed on to the agent.
var logQueryParams = []string{"follow", "previous", "timestamps", "tailLines", "sinceSeconds", "sinceTime", "limitBytes"}

var nodeTransport = &http.Transport{
	TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // see logSubresource
	DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
	TLSHandshakeTimeout: 10 * time.Second,
	MaxIdleConnsPerHost: 16,
}

func (s *Server) servePodLog(req *request) {
	ctx := req.r.Context()
	obj, err := req.store.Get(ctx, req.info.namespace, req.info.name)
	if err != nil {
		s.fail(req, err)
		return
	}
	pod := obj.(*corev1.Pod)
	name, err := logContainer(pod, req.query.Get("container"))
	if err != nil {
		s.fail(req, err)
		return
	}
	if msg := waitingToStart(pod, name); msg != "" {
		s.fail(req, apierrors.NewBadRequest(msg))
		return
	}
	if pod.Spec.NodeName == "" {
		s.fail(req, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name)))
		return
	}
	nodes := s.stores[corev1.SchemeGroupVersion.WithResource("nodes")]
	if nodes == nil {
		s.fail(req, apierrors.NewServiceUnavailable("no node store"))
		return
	}
	nobj, err := nodes.Get(ctx, "", pod.Spec.NodeName)
	if err != nil {
		s.fail(req, err)
		return
	}
	node := nobj.(*corev1.Node)
	host := ""
	for _, t := range []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeExternalIP, corev1.NodeHostName} {
		for _, a := range node.Status.Addresses {
			if a.Type == t && host == "" {
				host = a.Address
			}
		}
	}
	port := node.Status.DaemonEndpoints.KubeletEndpoint.Port
	if host == "" || port == 0 {
		s.fail(req, apierrors.NewBadRequest(fmt.Sprintf("node %s has no address or agent port", node.Name)))
		return
	}
	q := url.Values{}
	for _, k := range logQueryParams {
		if v := req.query.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	u := url.URL{Scheme: "https", Host: net.JoinHostPort(host, strconv.Itoa(int(port))),
		Path: "/containerLogs/" + pod.Namespace + "/" + pod.Name + "/" + name, RawQuery: q.Encode()}
	areq, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		s.fail(req, err)
		return
	}
	areq.Header.Set("Authorization", "Bearer "+s.nodeToken)
	resp, err := nodeTransport.RoundTrip(areq)
	if err != nil {
		s.fail(req, apierrors.NewServiceUnavailable(fmt.Sprintf("reaching the agent of node %s: %v", node.Name, err)))
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		s.fail(req, apierrors.NewBadRequest(strings.TrimSpace(string(b))))
		return
	}
	req.w.Header().Set("Content-Type", "text/plain")
	req.w.WriteHeader(http.StatusOK)
	flusher, _ := req.w.(http.Flusher)
	buf := make([]byte, 32<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := req.w.Write(buf[:n]); werr != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if rerr != nil {
			return
		}
	}
}

// logContainer picks the container: the one named, else the
// default-container annotation's, else the only one.
func logContainer(pod *corev1.Pod, name string) (string, error) {
	var names, inits []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.InitContainers {
		inits = append(inits, c.Name)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		inits = append(inits, c.Name)
	}
	if name == "" {
		if d := pod.Annotations[defaultContainerAnnotation]; d != "" {
			name = d
		} else if len(names) == 1 {
			name = names[0]
		} else {
			msg := fmt.Sprintf("a container name must be specified for pod %s, choose one of: [%s]", pod.Name, strings.Join(names, " "))
			if len(inits) > 0 {
				msg += fmt.Sprintf(" or one of the init containers: [%s]", strings.Join(inits, " "))
			}
			return "", apierrors.NewBadRequest(msg)
		}
	}
	for _, n := range append(names, inits...) {
		if n == name {
			return name, nil
		}
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", name, pod.Name))
}

// waitingToStart is upstream's message for a container that has not run
// yet, or "".
func waitingToStart(pod *corev1.Pod, name string) string {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses} {
		for _, cs := range list {
			if cs.Name != name {
				continue
			}
			if cs.State.Waiting != nil && cs.LastTerminationState.Terminated == nil && cs.ContainerID == "" {
				return fmt.Sprintf("container %q in pod %q is waiting to start: %s", name, pod.Name, cs.State.Waiting.Reason)
			}
			return ""
		}
	}
	return fmt.Sprintf("container %q in pod %q is waiting to start: ContainerCreating", name, pod.Name)
}
