package apiserver

import (
	"net/http"

	authenticationv1 "k8s.io/api/authentication/v1"
	authenticationv1beta1 "k8s.io/api/authentication/v1beta1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/batchd/batchd/internal/authn"
	"github.com/batchd/batchd/internal/registry"
)

// review is a create-only resource answered from the request alone
// (upstream's virtual review resources): nothing is stored.
type review struct {
	kind   string
	newObj func() runtime.Object
	// answer fills the object's status for user, or returns an API error.
	answer func(obj runtime.Object, user authn.User) error
}

// allowedReason explains the answer: until authorization arrives, every
// authenticated user is an administrator, so reviews truthfully allow all.
const allowedReason = "batchd grants every authenticated user full access"

var reviews = map[schema.GroupVersionResource]review{
	authorizationv1.SchemeGroupVersion.WithResource("selfsubjectaccessreviews"): {
		kind:   "SelfSubjectAccessReview",
		newObj: func() runtime.Object { return &authorizationv1.SelfSubjectAccessReview{} },
		answer: func(obj runtime.Object, _ authn.User) error {
			r := obj.(*authorizationv1.SelfSubjectAccessReview)
			if (r.Spec.ResourceAttributes == nil) == (r.Spec.NonResourceAttributes == nil) {
				return apierrors.NewInvalid(authorizationv1.SchemeGroupVersion.WithKind("SelfSubjectAccessReview").GroupKind(), "",
					field.ErrorList{field.Invalid(field.NewPath("spec", "resourceAttributes"), r.Spec,
						"exactly one of nonResourceAttributes or resourceAttributes must be specified")})
			}
			r.Status = authorizationv1.SubjectAccessReviewStatus{Allowed: true, Reason: allowedReason}
			return nil
		},
	},
	authorizationv1.SchemeGroupVersion.WithResource("selfsubjectrulesreviews"): {
		kind:   "SelfSubjectRulesReview",
		newObj: func() runtime.Object { return &authorizationv1.SelfSubjectRulesReview{} },
		answer: func(obj runtime.Object, _ authn.User) error {
			r := obj.(*authorizationv1.SelfSubjectRulesReview)
			r.Status = authorizationv1.SubjectRulesReviewStatus{
				ResourceRules:    []authorizationv1.ResourceRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}},
				NonResourceRules: []authorizationv1.NonResourceRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}},
			}
			return nil
		},
	},
	// kubectl 1.27 asks v1beta1 only (auth whoami).
	authenticationv1beta1.SchemeGroupVersion.WithResource("selfsubjectreviews"): {
		kind:   "SelfSubjectReview",
		newObj: func() runtime.Object { return &authenticationv1beta1.SelfSubjectReview{} },
		answer: func(obj runtime.Object, user authn.User) error {
			r := obj.(*authenticationv1beta1.SelfSubjectReview)
			r.Status.UserInfo = authenticationv1.UserInfo{Username: user.Name, UID: user.UID, Groups: user.Groups}
			return nil
		},
	},
	authenticationv1.SchemeGroupVersion.WithResource("selfsubjectreviews"): {
		kind:   "SelfSubjectReview",
		newObj: func() runtime.Object { return &authenticationv1.SelfSubjectReview{} },
		answer: func(obj runtime.Object, user authn.User) error {
			r := obj.(*authenticationv1.SelfSubjectReview)
			r.Status.UserInfo = authenticationv1.UserInfo{Username: user.Name, UID: user.UID, Groups: user.Groups}
			return nil
		},
	},
}

// serveReview answers a POST to a review resource.
func (s *Server) serveReview(w http.ResponseWriter, r *http.Request, info *requestInfo, rv review, user authn.User) {
	if !info.collection || info.namespace != "" || r.Method != http.MethodPost {
		if r.Method != http.MethodPost {
			s.writeError(w, r, statusError(http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed,
				"the server does not allow this method on the requested resource"))
			return
		}
		s.writeError(w, r, errPathNotFound())
		return
	}
	out, err := s.negotiateOutput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res := &registry.Resource{GroupVersion: info.gv, Name: info.resource, Kind: rv.kind, NewFunc: rv.newObj}
	req := &request{w: w, r: r, info: info, res: res, query: r.URL.Query(), out: out}
	obj, err := s.decodeBody(req, rv.newObj())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := rv.answer(obj, user); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respond(req, http.StatusCreated, obj)
}
