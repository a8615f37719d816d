package apiserver

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	jsonserializer "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/batchd/batchd/internal/authn"
	"github.com/batchd/batchd/internal/registry"
)

// maxBodyBytes is upstream's cap on a request body (3 MiB).
const maxBodyBytes = 3 * 1024 * 1024

// request is one resource request being served.
type request struct {
	w     http.ResponseWriter
	r     *http.Request
	info  *requestInfo
	store *registry.Store
	res   *registry.Resource
	query url.Values
	out   output
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, path string, user authn.User) {
	info, segs := parsePath(path)
	if info == nil {
		s.serveDiscoveryGroup(w, r, segs)
		return
	}
	if review, ok := reviews[info.gv.WithResource(info.resource)]; ok {
		s.serveReview(w, r, info, review, user)
		return
	}
	store := s.stores[info.gv.WithResource(info.resource)]
	if store == nil {
		s.writeError(w, r, errPathNotFound())
		return
	}
	res := store.Resource()
	switch {
	case info.namespace != "" && !res.Namespaced,
		res.Namespaced && info.namespace == "" && !info.collection,
		info.subresource != "" && res.Subresources[info.subresource] == nil && !((info.subresource == "eviction" || info.subresource == logSubresource) && res.GroupResource() == podsResource) &&
			!(info.subresource == tokenSubresource && s.tokens != nil && res.GroupVersionResource() == serviceAccountsResource):
		s.writeError(w, r, errPathNotFound())
		return
	}
	out, err := s.negotiateOutput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req := &request{w: w, r: r, info: info, store: store, res: res, query: r.URL.Query(), out: out}
	switch {
	case info.collection && r.Method == http.MethodGet:
		if watch := req.query.Get("watch"); watch == "true" || watch == "1" {
			s.serveWatch(req)
		} else {
			s.serveList(req)
		}
	case info.collection && r.Method == http.MethodPost && (info.namespace != "" || !res.Namespaced):
		s.serveCreate(req)
	case info.collection && r.Method == http.MethodDelete && (info.namespace != "" || !res.Namespaced) && !res.NoDeleteCollection:
		s.serveDeleteCollection(req)
	case !info.collection && r.Method == http.MethodPost && info.subresource == "eviction" && res.GroupResource() == podsResource:
		s.serveEviction(req)
	case !info.collection && r.Method == http.MethodPost && info.subresource == bindingSubresource && res.GroupResource() == podsResource:
		s.serveBinding(req)
	case !info.collection && r.Method == http.MethodGet && info.subresource == logSubresource && res.GroupResource() == podsResource:
		s.servePodLog(req)
	case !info.collection && r.Method == http.MethodPost && info.subresource == tokenSubresource && res.GroupVersionResource() == serviceAccountsResource:
		s.serveToken(req)
	case info.subresource == bindingSubresource, info.subresource == "eviction", info.subresource == tokenSubresource && res.GroupVersionResource() == serviceAccountsResource:
		s.writeError(w, r, statusError(http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed,
			"the server does not allow this method on the requested resource"))
	case !info.collection && r.Method == http.MethodGet:
		s.serveGet(req)
	case !info.collection && r.Method == http.MethodPut:
		s.serveUpdate(req)
	case !info.collection && r.Method == http.MethodPatch:
		s.servePatch(req)
	case !info.collection && r.Method == http.MethodDelete && info.subresource == "":
		s.serveDelete(req)
	default:
		s.writeError(w, r, statusError(http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed,
			"the server does not allow this method on the requested resource"))
	}
}

func (s *Server) respond(req *request, code int, obj runtime.Object) {
	s.writeConverted(req.w, code, req.out, req.res.GroupVersion, obj, tableOptions(req.out, req.query, false))
}

func (s *Server) fail(req *request, err error) { s.writeError(req.w, req.r, err) }

func (s *Server) serveGet(req *request) {
	obj, err := req.store.Get(req.r.Context(), req.info.namespace, req.info.name)
	if err != nil {
		s.fail(req, err)
		return
	}
	s.respond(req, http.StatusOK, obj)
}

func (s *Server) serveList(req *request) {
	opts, err := listOptions(req)
	if err != nil {
		s.fail(req, err)
		return
	}
	list, err := req.store.List(req.r.Context(), req.info.namespace, opts)
	if err != nil {
		s.fail(req, err)
		return
	}
	s.respond(req, http.StatusOK, list)
}

func listOptions(req *request) (registry.ListOptions, error) {
	q := req.query
	sel, err := req.store.ParseSelector(q.Get("labelSelector"), q.Get("fieldSelector"))
	if err != nil {
		return registry.ListOptions{}, err
	}
	opts := registry.ListOptions{
		Selector:             sel,
		ResourceVersion:      q.Get("resourceVersion"),
		ResourceVersionMatch: metav1.ResourceVersionMatch(q.Get("resourceVersionMatch")),
		Continue:             q.Get("continue"),
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.ParseInt(l, 10, 64)
		if err != nil || n < 0 {
			return opts, apierrors.NewBadRequest(fmt.Sprintf("invalid limit: %q", l))
		}
		opts.Limit = n
	}
	switch opts.ResourceVersionMatch {
	case "", metav1.ResourceVersionMatchExact, metav1.ResourceVersionMatchNotOlderThan:
	default:
		return opts, invalidOptions("ListOptions", field.NotSupported(field.NewPath("resourceVersionMatch"), opts.ResourceVersionMatch,
			[]string{string(metav1.ResourceVersionMatchExact), string(metav1.ResourceVersionMatchNotOlderThan)}))
	}
	return opts, nil
}

func invalidOptions(kind string, errs ...*field.Error) error {
	return apierrors.NewInvalid(schema.GroupKind{Group: metav1.GroupName, Kind: kind}, "", errs)
}

// dryRun parses the dryRun parameter: only "All" exists.
func dryRun(values []string, kind string) (bool, error) {
	for _, v := range values {
		if v != metav1.DryRunAll {
			return false, invalidOptions(kind, field.NotSupported(field.NewPath("dryRun"), v, []string{metav1.DryRunAll}))
		}
	}
	return len(values) > 0, nil
}

func (s *Server) serveCreate(req *request) {
	dry, err := dryRun(req.query["dryRun"], "CreateOptions")
	if err != nil {
		s.fail(req, err)
		return
	}
	obj, err := s.decodeBody(req, req.res.NewFunc())
	if err != nil {
		s.fail(req, err)
		return
	}
	accessor, err := meta.Accessor(obj)
	if err != nil {
		s.fail(req, apierrors.NewBadRequest(err.Error()))
		return
	}
	if req.res.Namespaced {
		switch accessor.GetNamespace() {
		case "":
			accessor.SetNamespace(req.info.namespace)
		case req.info.namespace:
		default:
			s.fail(req, apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request"))
			return
		}
	}
	obj = s.fieldManagers.update(req, nil, obj)
	created, err := req.store.Create(req.r.Context(), obj, registry.CreateOptions{DryRun: dry, Warn: req.warn})
	if err != nil {
		s.fail(req, err)
		return
	}
	s.respond(req, http.StatusCreated, created)
}

func (s *Server) serveUpdate(req *request) {
	dry, err := dryRun(req.query["dryRun"], "UpdateOptions")
	if err != nil {
		s.fail(req, err)
		return
	}
	body, err := s.decodeBody(req, req.res.NewFunc())
	if err != nil {
		s.fail(req, err)
		return
	}
	obj, created, err := req.store.Update(req.r.Context(), req.info.namespace, req.info.name,
		func(cur runtime.Object) (runtime.Object, error) {
			if err := uidPrecondition(req, body, cur); err != nil {
				return nil, err
			}
			return s.fieldManagers.update(req, cur, body.DeepCopyObject()), nil
		},
		registry.UpdateOptions{Subresource: req.info.subresource, DryRun: dry, Warn: req.warn})
	if err != nil {
		s.fail(req, err)
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	s.respond(req, code, obj)
}

// uidPrecondition is upstream's implicit precondition on PUT: a body that
// names a uid updates only the object with that uid (409 otherwise).
func uidPrecondition(req *request, body, current runtime.Object) error {
	if current == nil {
		return nil
	}
	b, err1 := meta.Accessor(body)
	c, err2 := meta.Accessor(current)
	if err1 != nil || err2 != nil || b.GetUID() == "" || b.GetUID() == c.GetUID() {
		return nil
	}
	return apierrors.NewConflict(req.res.GroupResource(), req.info.name,
		fmt.Errorf("Precondition failed: UID in precondition: %v, UID in object meta: %v", b.GetUID(), c.GetUID()))
}

func (s *Server) serveDelete(req *request) {
	opts, err := s.deleteOptions(req)
	if err != nil {
		s.fail(req, err)
		return
	}
	outcome, err := req.store.Delete(req.r.Context(), req.info.namespace, req.info.name, opts, req.warn)
	if err != nil {
		s.fail(req, err)
		return
	}
	if !outcome.Deleted || req.res.ReturnDeletedObject {
		s.respond(req, http.StatusOK, outcome.Object)
		return
	}
	s.respond(req, http.StatusOK, &metav1.Status{
		Status: metav1.StatusSuccess,
		Details: &metav1.StatusDetails{
			Name:  req.info.name,
			Group: req.res.GroupVersion.Group,
			Kind:  req.res.Name,
			UID:   registry.UIDOf(outcome.Object),
		},
	})
}

func (s *Server) serveDeleteCollection(req *request) {
	opts, err := s.deleteOptions(req)
	if err != nil {
		s.fail(req, err)
		return
	}
	listOpts, err := listOptions(req)
	if err != nil {
		s.fail(req, err)
		return
	}
	list, err := req.store.DeleteCollection(req.r.Context(), req.info.namespace, listOpts, opts, req.warn)
	if err != nil {
		s.fail(req, err)
		return
	}
	s.respond(req, http.StatusOK, list)
}

// deleteOptions reads DeleteOptions from the body (if any) and the query.
func (s *Server) deleteOptions(req *request) (*metav1.DeleteOptions, error) {
	opts := &metav1.DeleteOptions{}
	body, err := readBody(req.r)
	if err != nil {
		return nil, err
	}
	if len(body) > 0 {
		info, err := s.negotiateInput(req.r)
		if err != nil {
			return nil, err
		}
		dec := s.codecs.DecoderToVersion(info.Serializer, metav1.SchemeGroupVersion)
		defaults := metav1.SchemeGroupVersion.WithKind("DeleteOptions")
		if _, _, err := dec.Decode(body, &defaults, opts); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid delete options: %v", err))
		}
	}
	q := req.query
	if g := q.Get("gracePeriodSeconds"); g != "" {
		n, err := strconv.ParseInt(g, 10, 64)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid gracePeriodSeconds: %q", g))
		}
		opts.GracePeriodSeconds = &n
	}
	if p := q.Get("propagationPolicy"); p != "" {
		policy := metav1.DeletionPropagation(p)
		opts.PropagationPolicy = &policy
	}
	if len(q["dryRun"]) > 0 {
		opts.DryRun = q["dryRun"]
	}
	if _, err := dryRun(opts.DryRun, "DeleteOptions"); err != nil {
		return nil, err
	}
	if opts.PropagationPolicy != nil && opts.OrphanDependents != nil { //nolint:staticcheck // still honoured upstream
		return nil, invalidOptions("DeleteOptions", field.Invalid(field.NewPath("propagationPolicy"), *opts.PropagationPolicy,
			"orphanDependents and deletionPropagation cannot be both set"))
	}
	if p := opts.PropagationPolicy; p != nil {
		switch *p {
		case metav1.DeletePropagationBackground, metav1.DeletePropagationForeground, metav1.DeletePropagationOrphan:
		default:
			return nil, invalidOptions("DeleteOptions", field.NotSupported(field.NewPath("propagationPolicy"), *p,
				[]string{string(metav1.DeletePropagationForeground), string(metav1.DeletePropagationBackground), string(metav1.DeletePropagationOrphan), "nil"}))
		}
	}
	return opts, nil
}

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("reading request body: %v", err))
	}
	if len(body) > maxBodyBytes {
		return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d", maxBodyBytes))
	}
	return body, nil
}

// Field validation directives (the fieldValidation query parameter).
const (
	fieldValidationIgnore = "Ignore"
	fieldValidationWarn   = "Warn"
	fieldValidationStrict = "Strict"
)

func fieldValidation(q url.Values) (string, error) {
	switch v := q.Get("fieldValidation"); v {
	case "":
		return fieldValidationWarn, nil // upstream's default
	case fieldValidationIgnore, fieldValidationWarn, fieldValidationStrict:
		return v, nil
	default:
		return "", apierrors.NewBadRequest(fmt.Sprintf("fieldValidation parameter unsupported: %v", v))
	}
}

// decodeBody decodes the request body into into, honouring fieldValidation.
func (s *Server) decodeBody(req *request, into runtime.Object) (runtime.Object, error) {
	body, err := readBody(req.r)
	if err != nil {
		return nil, err
	}
	info, err := s.negotiateInput(req.r)
	if err != nil {
		return nil, err
	}
	return s.decode(req, body, info, into)
}

func (s *Server) decode(req *request, body []byte, info runtime.SerializerInfo, into runtime.Object) (runtime.Object, error) {
	validation, err := fieldValidation(req.query)
	if err != nil {
		return nil, err
	}
	ser := info.Serializer
	if validation != fieldValidationIgnore && info.StrictSerializer != nil {
		ser = info.StrictSerializer
	}
	gvk := req.res.GroupVersionKind()
	if info.MediaType == mediaJSON {
		// Check the declared type first: decoding a kind into a group
		// version that lacks it fails with a less useful message.
		if declared, err := jsonserializer.DefaultMetaFactory.Interpret(body); err == nil && declared.Version != "" &&
			declared.GroupVersion() != req.res.GroupVersion {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)",
				declared.GroupVersion(), req.res.GroupVersion))
		}
	}
	dec := s.codecs.DecoderToVersion(ser, req.res.GroupVersion)
	obj, actual, err := dec.Decode(body, &gvk, into)
	if err != nil {
		strict, isStrict := runtime.AsStrictDecodingError(err)
		switch {
		case isStrict && obj != nil && validation == fieldValidationWarn:
			for _, e := range strict.Errors() {
				req.warn(e.Error())
			}
		case isStrict && obj != nil && validation == fieldValidationIgnore:
		default:
			kind, version := gvk.Kind, gvk.Version
			if actual != nil && actual.Kind != "" {
				kind, version = actual.Kind, actual.Version
			}
			return nil, apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %s",
				kind, version, gvk.Kind, strings.TrimPrefix(err.Error(), "json: ")))
		}
	}
	if actual != nil && actual.GroupVersion() != req.res.GroupVersion {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)",
			actual.GroupVersion(), req.res.GroupVersion))
	}
	if actual != nil && actual.Kind != gvk.Kind {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: the kind in the data does not match the resource",
			actual.Kind, actual.Version, gvk.Kind))
	}
	return obj, nil
}

// warn adds a warning to the response, once per distinct text, as
// upstream's warning recorder does: an update may be retried (after a lost
// race, or on a stale cached state) and decode its body again.
func (req *request) warn(msg string) {
	for _, w := range req.w.Header().Values("Warning") {
		if w == warningValue(msg) {
			return
		}
	}
	addWarning(req.w, msg)
}

func warningValue(text string) string { return "299 - " + strconv.Quote(text) }

// addWarning adds an RFC 7234 Warning header as upstream does (code 299).
func addWarning(w http.ResponseWriter, text string) {
	w.Header().Add("Warning", warningValue(text))
}
