package apiserver

import (
	"fmt"
	"net/http"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/batchd/batchd/internal/authn"
	"github.com/batchd/batchd/internal/registry"
)

// TokenIssuer signs service account tokens (authn.ServiceAccounts).
type TokenIssuer interface {
	Issue(spec authn.TokenSpec) (authn.Token, error)
	// Audiences are the API audiences, a TokenRequest's default.
	Audiences() []string
}

// tokenSubresource is serviceaccounts/token: POST a TokenRequest, get it
// back with a signed token, as upstream's TokenREST does.
const tokenSubresource = "token"

// TokenRequest defaults and limits, upstream's (the v1 defaulter and
// pkg/apis/authentication/validation).
const (
	defaultTokenExpirationSeconds = 60 * 60
	minTokenExpirationSeconds     = 10 * 60
	maxTokenExpirationSeconds     = 1 << 32
)

var (
	serviceAccountsResource = corev1.SchemeGroupVersion.WithResource("serviceaccounts")
	tokenRequestKind        = authenticationv1.SchemeGroupVersion.WithKind("TokenRequest")
)

// serveToken implements POST serviceaccounts/<name>/token.
func (s *Server) serveToken(req *request) {
	tokenRes := &registry.Resource{GroupVersion: authenticationv1.SchemeGroupVersion, Name: "serviceaccounts", Kind: tokenRequestKind.Kind,
		NewFunc: func() runtime.Object { return &authenticationv1.TokenRequest{} }}
	tokenReq := *req
	tokenReq.res = tokenRes
	if _, err := dryRun(req.query["dryRun"], "CreateOptions"); err != nil {
		s.fail(req, err)
		return
	}
	obj, err := s.decodeBody(&tokenReq, &authenticationv1.TokenRequest{})
	if err != nil {
		s.fail(req, err)
		return
	}
	out, err := s.issueToken(&tokenReq, obj.(*authenticationv1.TokenRequest))
	if err != nil {
		s.fail(req, err)
		return
	}
	s.respond(&tokenReq, http.StatusCreated, out)
}

func (s *Server) issueToken(req *request, tr *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error) {
	name, namespace := req.info.name, req.info.namespace
	gk := tokenRequestKind.GroupKind()
	if tr.Name != "" && tr.Name != name {
		return nil, apierrors.NewInvalid(gk, name, field.ErrorList{field.Invalid(field.NewPath("metadata", "name"), tr.Name,
			"must match the service account name if specified")})
	}
	if tr.Namespace != "" && tr.Namespace != namespace {
		return nil, apierrors.NewInvalid(gk, name, field.ErrorList{field.Invalid(field.NewPath("metadata", "namespace"), tr.Namespace,
			"must match the service account namespace if specified")})
	}
	ctx := req.r.Context()
	saObj, err := req.store.Get(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	sa := saObj.(*corev1.ServiceAccount)
	if len(tr.Spec.Audiences) == 0 {
		tr.Spec.Audiences = s.tokens.Audiences()
	}
	tr.Name, tr.Namespace = sa.Name, sa.Namespace
	if tr.Spec.ExpirationSeconds == nil {
		secs := int64(defaultTokenExpirationSeconds)
		tr.Spec.ExpirationSeconds = &secs
	}
	tr.Status = authenticationv1.TokenRequestStatus{}
	if errs := validateTokenRequest(tr); len(errs) > 0 {
		return nil, apierrors.NewInvalid(gk, "", errs)
	}
	spec := authn.TokenSpec{
		Namespace: sa.Namespace, Name: sa.Name, UID: string(sa.UID),
		Audiences:  tr.Spec.Audiences,
		Expiration: time.Duration(*tr.Spec.ExpirationSeconds) * time.Second,
	}
	if ref := tr.Spec.BoundObjectRef; ref != nil {
		if err := s.bindToken(req, &spec, ref); err != nil {
			return nil, err
		}
	}
	token, err := s.tokens.Issue(spec)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("failed to generate token: %w", err))
	}
	tr.CreationTimestamp = metav1.NewTime(token.IssuedAt)
	tr.Status = authenticationv1.TokenRequestStatus{Token: token.Value, ExpirationTimestamp: metav1.NewTime(token.Expires)}
	return tr, nil
}

// validateTokenRequest is upstream's ValidateTokenRequest.
func validateTokenRequest(tr *authenticationv1.TokenRequest) field.ErrorList {
	var errs field.ErrorList
	path := field.NewPath("spec", "expirationSeconds")
	secs := *tr.Spec.ExpirationSeconds
	if secs < minTokenExpirationSeconds {
		errs = append(errs, field.Invalid(path, secs, "may not specify a duration less than 10 minutes"))
	}
	if secs > maxTokenExpirationSeconds {
		errs = append(errs, field.Invalid(path, secs, "may not specify a duration larger than 2^32 seconds"))
	}
	return errs
}

// bindToken checks the object a token is to be bound to and records it in
// spec, as upstream does for pods and secrets.
func (s *Server) bindToken(req *request, spec *authn.TokenSpec, ref *authenticationv1.BoundObjectReference) error {
	gvk := schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind)
	ctx := req.r.Context()
	var uid string
	switch {
	case gvk.Group == "" && gvk.Kind == "Pod":
		obj, err := s.coreStore("pods").Get(ctx, spec.Namespace, ref.Name)
		if err != nil {
			return err
		}
		pod := obj.(*corev1.Pod)
		if pod.Spec.ServiceAccountName != spec.Name {
			return apierrors.NewBadRequest(fmt.Sprintf("cannot bind token for serviceaccount %q to pod running with different serviceaccount name.", spec.Name))
		}
		uid = string(pod.UID)
		spec.Pod = &authn.ObjectRef{Name: pod.Name, UID: uid}
		if node := pod.Spec.NodeName; node != "" {
			// As upstream: the node's name even if it is gone, its UID if not.
			spec.Node = &authn.ObjectRef{Name: node}
			nodeObj, err := s.coreStore("nodes").Get(ctx, "", node)
			switch {
			case err == nil:
				spec.Node.UID = string(nodeObj.(*corev1.Node).UID)
			case !apierrors.IsNotFound(err):
				return apierrors.NewInternalError(err)
			}
		}
	case gvk.Group == "" && gvk.Kind == "Secret":
		obj, err := s.coreStore("secrets").Get(ctx, spec.Namespace, ref.Name)
		if err != nil {
			return err
		}
		secret := obj.(*corev1.Secret)
		uid = string(secret.UID)
		spec.Secret = &authn.ObjectRef{Name: secret.Name, UID: uid}
	default:
		return apierrors.NewBadRequest(fmt.Sprintf("cannot bind token to object of type %s", gvk.String()))
	}
	if ref.UID != "" && string(ref.UID) != uid {
		return apierrors.NewConflict(schema.GroupResource{Group: gvk.Group, Resource: gvk.Kind}, ref.Name,
			fmt.Errorf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID))
	}
	return nil
}

// coreStore returns the store of a core/v1 resource TokenRequest reads;
// New checks they are all there.
func (s *Server) coreStore(resource string) *registry.Store {
	return s.stores[corev1.SchemeGroupVersion.WithResource(resource)]
}

// tokenStores are the resources serveToken reads.
var tokenStores = []string{"serviceaccounts", "pods", "nodes", "secrets"}
