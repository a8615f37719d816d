package authn

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/utils/clock"
)

// Service account tokens are upstream's bound service account tokens
// (kube-apiserver's TokenRequest and service account authenticator): JWTs
// signed with the data directory's sa.key, naming the service account (and
// the pod or secret they are bound to) by name and UID, so that deleting
// the account or the bound object revokes them.
const (
	// DefaultIssuer is the iss claim and, unless configured otherwise, the
	// only API audience: kubeadm's --service-account-issuer default.
	DefaultIssuer = "https://kubernetes.default.svc.cluster.local"
	// GroupServiceAccounts holds every service account; each is also in
	// system:serviceaccounts:<namespace>.
	GroupServiceAccounts = "system:serviceaccounts"
	serviceAccountPrefix = "system:serviceaccount:"

	// DefaultTokenCacheTTL is how long a successful authentication is
	// remembered (upstream's token cache keeps them 10 s). Within it a
	// deleted service account or pod still authenticates.
	DefaultTokenCacheTTL = time.Second
	// tokenCacheSize bounds the cache; beyond it, the cache starts over.
	tokenCacheSize = 4096
	// leeway is go-jose's jwt.DefaultLeeway, which upstream's validator
	// uses for exp, nbf and recently deleted objects.
	leeway = time.Minute
)

// Resources whose objects a token names.
const (
	ResourceServiceAccounts = "serviceaccounts"
	ResourcePods            = "pods"
	ResourceSecrets         = "secrets"
)

// ServiceAccountUsername is upstream's user name of a service account:
// system:serviceaccount:<namespace>:<name>.
func ServiceAccountUsername(namespace, name string) string {
	return serviceAccountPrefix + namespace + ":" + name
}

// ServiceAccountGroups are the groups of a service account in namespace,
// system:authenticated included.
func ServiceAccountGroups(namespace string) []string {
	return []string{GroupServiceAccounts, GroupServiceAccounts + ":" + namespace, GroupAuthed}
}

// Object is what token validation needs to know about a named object.
type Object struct {
	UID string
	// Deleted is the object's deletionTimestamp (zero: not being deleted).
	Deleted time.Time
}

// ErrNotFound is what an Objects returns for a missing object.
var ErrNotFound = errors.New("object not found")

// Objects looks up the current state of the objects tokens name. The
// control plane implements it over its storage.
type Objects interface {
	// Get returns the named object of a core/v1 resource
	// (ResourceServiceAccounts, ResourcePods, ResourceSecrets), or an error
	// (ErrNotFound if it does not exist).
	Get(ctx context.Context, resource, namespace, name string) (Object, error)
}

// ObjectRef names an object a token is bound to.
type ObjectRef struct {
	Name string `json:"name,omitempty"`
	UID  string `json:"uid,omitempty"`
}

// TokenSpec is what a token says.
type TokenSpec struct {
	// Namespace, Name and UID identify the service account.
	Namespace, Name, UID string
	// Pod or Secret is the object the token is bound to, if any; Node is
	// the bound pod's node, for information only.
	Pod, Secret, Node *ObjectRef
	// Audiences the token is for; empty: the API audiences.
	Audiences []string
	// Expiration is the token's lifetime.
	Expiration time.Duration
}

// Token is an issued token.
type Token struct {
	Value             string
	IssuedAt, Expires time.Time
	Audiences         []string
}

// ServiceAccountsConfig configures ServiceAccounts.
type ServiceAccountsConfig struct {
	// Key signs and verifies tokens: an *ecdsa.PrivateKey (P-256, ES256)
	// or an *rsa.PrivateKey (RS256). Required.
	Key crypto.Signer
	// Issuer is the iss claim; empty: DefaultIssuer.
	Issuer string
	// Audiences are the API's audiences: a token must be for one of them
	// to authenticate, and a TokenRequest without audiences gets them.
	// Empty: the issuer alone.
	Audiences []string
	// Objects looks up service accounts and bound objects. Required to
	// authenticate (Issue works without).
	Objects Objects
	// Clock gives the time tokens are issued and checked at; nil: the
	// real clock.
	Clock clock.PassiveClock
	// CacheTTL is how long a successful authentication is remembered; 0:
	// DefaultTokenCacheTTL; negative: not at all.
	CacheTTL time.Duration
	// Log receives why tokens were rejected, at debug level; nil:
	// slog.Default().
	Log *slog.Logger
}

// ServiceAccounts issues service account tokens and authenticates requests
// that carry one.
type ServiceAccounts struct {
	key       crypto.Signer
	method    jwt.SigningMethod
	keyID     string
	issuer    string
	audiences []string
	objects   Objects
	clock     clock.PassiveClock
	cacheTTL  time.Duration
	log       *slog.Logger
	parser    *jwt.Parser

	mu    sync.Mutex
	cache map[string]cachedUser
}

type cachedUser struct {
	user  User
	until time.Time
}

// NewServiceAccounts validates cfg.
func NewServiceAccounts(cfg ServiceAccountsConfig) (*ServiceAccounts, error) {
	var method jwt.SigningMethod
	switch k := cfg.Key.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("authn: ECDSA service account keys must use P-256")
		}
		method = jwt.SigningMethodES256
	case *rsa.PrivateKey:
		method = jwt.SigningMethodRS256
	case nil:
		return nil, errors.New("authn: a service account signing Key is required")
	default:
		return nil, fmt.Errorf("authn: cannot sign service account tokens with a %T", cfg.Key)
	}
	keyID, err := keyIDOf(cfg.Key.Public())
	if err != nil {
		return nil, err
	}
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultIssuer
	}
	if len(cfg.Audiences) == 0 {
		cfg.Audiences = []string{cfg.Issuer}
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = DefaultTokenCacheTTL
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	s := &ServiceAccounts{
		key: cfg.Key, method: method, keyID: keyID, issuer: cfg.Issuer, audiences: slices.Clone(cfg.Audiences),
		objects: cfg.Objects, clock: cfg.Clock, cacheTTL: cfg.CacheTTL, log: cfg.Log, cache: map[string]cachedUser{},
	}
	s.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{method.Alg()}),
		jwt.WithIssuer(s.issuer),
		jwt.WithAudience(s.audiences...),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(s.clock.Now),
	)
	return s, nil
}

// keyIDOf is upstream's kid: the unpadded base64url SHA-256 of the public
// key's DER (PKIX) encoding.
func keyIDOf(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("authn: encoding service account public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// Audiences returns the API audiences.
func (s *ServiceAccounts) Audiences() []string { return slices.Clone(s.audiences) }

// claims are upstream's (k8s.io/kubernetes/pkg/serviceaccount): the
// registered claims plus the private kubernetes.io claim.
type claims struct {
	jwt.RegisteredClaims
	Kubernetes privateClaims `json:"kubernetes.io"`
}

type privateClaims struct {
	Namespace      string     `json:"namespace,omitempty"`
	ServiceAccount ObjectRef  `json:"serviceaccount"`
	Pod            *ObjectRef `json:"pod,omitempty"`
	Secret         *ObjectRef `json:"secret,omitempty"`
	Node           *ObjectRef `json:"node,omitempty"`
}

// Issue signs a token for spec, issued now.
func (s *ServiceAccounts) Issue(spec TokenSpec) (Token, error) {
	if spec.Namespace == "" || spec.Name == "" || spec.UID == "" {
		return Token{}, errors.New("issuing service account token: namespace, name and UID are required")
	}
	if spec.Expiration <= 0 {
		return Token{}, errors.New("issuing service account token: expiration must be positive")
	}
	auds := spec.Audiences
	if len(auds) == 0 {
		auds = s.audiences
	}
	// Whole seconds, as JWT times are: the token's exp is then exactly
	// the expirationTimestamp TokenRequest reports.
	now := s.clock.Now().Truncate(time.Second)
	exp := now.Add(spec.Expiration)
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.issuer,
			Subject:   ServiceAccountUsername(spec.Namespace, spec.Name),
			Audience:  jwt.ClaimStrings(slices.Clone(auds)),
			ExpiresAt: jwt.NewNumericDate(exp),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        string(uuid.NewUUID()),
		},
		Kubernetes: privateClaims{
			Namespace:      spec.Namespace,
			ServiceAccount: ObjectRef{Name: spec.Name, UID: spec.UID},
			Pod:            spec.Pod,
			Secret:         spec.Secret,
			Node:           spec.Node,
		},
	}
	t := jwt.NewWithClaims(s.method, c)
	t.Header["kid"] = s.keyID
	signed, err := t.SignedString(s.key)
	if err != nil {
		return Token{}, fmt.Errorf("signing service account token: %w", err)
	}
	return Token{Value: signed, IssuedAt: now, Expires: exp, Audiences: slices.Clone(auds)}, nil
}

// Authenticate returns the service account behind r's bearer token, if it
// is a valid service account token.
func (s *ServiceAccounts) Authenticate(r *http.Request) (User, bool) {
	token, ok := bearer(r)
	if !ok || strings.Count(token, ".") != 2 {
		return User{}, false
	}
	return s.AuthenticateToken(r.Context(), token)
}

// AuthenticateToken checks a service account token as upstream does: the
// signature, the issuer, exp and nbf (with a minute's leeway), an API
// audience, and that the service account, and the pod or secret the token
// is bound to, still exist with the UIDs it names and are not being
// deleted (for more than the leeway).
func (s *ServiceAccounts) AuthenticateToken(ctx context.Context, token string) (User, bool) {
	now := s.clock.Now()
	if u, ok := s.cached(token, now); ok {
		return u, true
	}
	u, until, err := s.validate(ctx, token, now)
	if err != nil {
		s.log.Debug("Rejecting service account token", "err", err)
		return User{}, false
	}
	if ttl := now.Add(s.cacheTTL); ttl.Before(until) {
		until = ttl
	}
	s.remember(token, u, until)
	return u, true
}

func (s *ServiceAccounts) validate(ctx context.Context, token string, now time.Time) (User, time.Time, error) {
	if s.objects == nil {
		return User{}, time.Time{}, errors.New("no object lookup configured")
	}
	var c claims
	if _, err := s.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return s.key.Public(), nil }); err != nil {
		return User{}, time.Time{}, err
	}
	k := c.Kubernetes
	if k.Namespace == "" || k.ServiceAccount.Name == "" || c.Subject != ServiceAccountUsername(k.Namespace, k.ServiceAccount.Name) {
		return User{}, time.Time{}, errors.New("token names no service account")
	}
	deletedBefore := now.Add(-leeway)
	check := func(resource, name, uid string) error {
		obj, err := s.objects.Get(ctx, resource, k.Namespace, name)
		if err != nil {
			return fmt.Errorf("looking up %s %s/%s: %w", resource, k.Namespace, name, err)
		}
		if !obj.Deleted.IsZero() && obj.Deleted.Before(deletedBefore) {
			return fmt.Errorf("%s %s/%s has been deleted", resource, k.Namespace, name)
		}
		if obj.UID != uid {
			return fmt.Errorf("%s %s/%s UID (%s) does not match claim (%s)", resource, k.Namespace, name, obj.UID, uid)
		}
		return nil
	}
	if err := check(ResourceServiceAccounts, k.ServiceAccount.Name, k.ServiceAccount.UID); err != nil {
		return User{}, time.Time{}, err
	}
	if k.Secret != nil {
		if err := check(ResourceSecrets, k.Secret.Name, k.Secret.UID); err != nil {
			return User{}, time.Time{}, err
		}
	}
	if k.Pod != nil {
		if err := check(ResourcePods, k.Pod.Name, k.Pod.UID); err != nil {
			return User{}, time.Time{}, err
		}
	}
	u := User{
		Name:   ServiceAccountUsername(k.Namespace, k.ServiceAccount.Name),
		UID:    k.ServiceAccount.UID,
		Groups: ServiceAccountGroups(k.Namespace),
	}
	return u, c.ExpiresAt.Add(leeway), nil
}

func (s *ServiceAccounts) cached(token string, now time.Time) (User, bool) {
	if s.cacheTTL < 0 {
		return User{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.cache[token]
	if !ok {
		return User{}, false
	}
	if !now.Before(e.until) {
		delete(s.cache, token)
		return User{}, false
	}
	return e.user, true
}

func (s *ServiceAccounts) remember(token string, u User, until time.Time) {
	if s.cacheTTL < 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cache) >= tokenCacheSize {
		now := s.clock.Now()
		for k, e := range s.cache {
			if !now.Before(e.until) {
				delete(s.cache, k)
			}
		}
		if len(s.cache) >= tokenCacheSize {
			clear(s.cache)
		}
	}
	s.cache[token] = cachedUser{user: u, until: until}
}
