package authn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	clocktesting "k8s.io/utils/clock/testing"
)

// objects is a map of "resource/namespace/name" to object, for tests.
type objects map[string]Object

func (o objects) Get(_ context.Context, resource, namespace, name string) (Object, error) {
	obj, ok := o[resource+"/"+namespace+"/"+name]
	if !ok {
		return Object{}, ErrNotFound
	}
	return obj, nil
}

func newTestServiceAccounts(t *testing.T, objs objects, clk *clocktesting.FakePassiveClock) *ServiceAccounts {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServiceAccounts(ServiceAccountsConfig{Key: key, Objects: objs, Clock: clk, CacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// payload decodes a JWT's claims without checking them.
func payload(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestTokenClaims: a pod-bound token carries upstream's claims (issue #5).
func TestTokenClaims(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := newTestServiceAccounts(t, objects{}, clocktesting.NewFakePassiveClock(now))
	tok, err := s.Issue(TokenSpec{
		Namespace: "ns", Name: "sa", UID: "sa-uid",
		Pod:        &ObjectRef{Name: "p", UID: "pod-uid"},
		Node:       &ObjectRef{Name: "n", UID: "node-uid"},
		Expiration: 3607 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if tok.IssuedAt != now || tok.Expires != now.Add(3607*time.Second) {
		t.Errorf("issued %v expires %v, want %v and an hour and 7 s later", tok.IssuedAt, tok.Expires, now)
	}
	got := payload(t, tok.Value)
	if jti, _ := got["jti"].(string); len(jti) != 36 {
		t.Errorf("jti = %v, want a UUID", got["jti"])
	}
	delete(got, "jti")
	want := map[string]any{
		"iss": DefaultIssuer,
		"aud": []any{DefaultIssuer},
		"sub": "system:serviceaccount:ns:sa",
		"iat": float64(now.Unix()),
		"nbf": float64(now.Unix()),
		"exp": float64(now.Unix() + 3607),
		"kubernetes.io": map[string]any{
			"namespace":      "ns",
			"serviceaccount": map[string]any{"name": "sa", "uid": "sa-uid"},
			"pod":            map[string]any{"name": "p", "uid": "pod-uid"},
			"node":           map[string]any{"name": "n", "uid": "node-uid"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("claims mismatch (-want +got):\n%s", diff)
	}
}

// TestTokenValidation: what upstream's service account authenticator
// accepts and rejects.
func TestTokenValidation(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sa := Object{UID: "sa-uid"}
	pod := Object{UID: "pod-uid"}
	bound := TokenSpec{Namespace: "ns", Name: "sa", UID: "sa-uid", Pod: &ObjectRef{Name: "p", UID: "pod-uid"}, Expiration: time.Hour}
	tests := []struct {
		name  string
		objs  objects
		spec  TokenSpec
		after time.Duration // how long after issuing the token is used
		other bool          // signed with another key
		want  bool
	}{
		{name: "valid bound token", objs: objects{"serviceaccounts/ns/sa": sa, "pods/ns/p": pod}, spec: bound, want: true},
		{name: "valid within a minute past exp", objs: objects{"serviceaccounts/ns/sa": sa, "pods/ns/p": pod}, spec: bound, after: time.Hour + 30*time.Second, want: true},
		{name: "expired", objs: objects{"serviceaccounts/ns/sa": sa, "pods/ns/p": pod}, spec: bound, after: time.Hour + 2*time.Minute},
		{name: "not yet valid", objs: objects{"serviceaccounts/ns/sa": sa, "pods/ns/p": pod}, spec: bound, after: -2 * time.Minute},
		{name: "service account gone", objs: objects{"pods/ns/p": pod}, spec: bound},
		{name: "service account recreated", objs: objects{"serviceaccounts/ns/sa": {UID: "new"}, "pods/ns/p": pod}, spec: bound},
		{name: "service account deleted long ago", objs: objects{"serviceaccounts/ns/sa": {UID: "sa-uid", Deleted: now.Add(-2 * time.Minute)}, "pods/ns/p": pod}, spec: bound},
		{name: "service account being deleted just now", objs: objects{"serviceaccounts/ns/sa": {UID: "sa-uid", Deleted: now}, "pods/ns/p": pod}, spec: bound, want: true},
		{name: "bound pod gone", objs: objects{"serviceaccounts/ns/sa": sa}, spec: bound},
		{name: "bound pod recreated", objs: objects{"serviceaccounts/ns/sa": sa, "pods/ns/p": {UID: "other"}}, spec: bound},
		{name: "unbound token needs no pod", objs: objects{"serviceaccounts/ns/sa": sa}, spec: TokenSpec{Namespace: "ns", Name: "sa", UID: "sa-uid", Expiration: time.Hour}, want: true},
		{name: "other audience", objs: objects{"serviceaccounts/ns/sa": sa}, spec: TokenSpec{Namespace: "ns", Name: "sa", UID: "sa-uid", Audiences: []string{"vault"}, Expiration: time.Hour}},
		{name: "API audience among others", objs: objects{"serviceaccounts/ns/sa": sa}, spec: TokenSpec{Namespace: "ns", Name: "sa", UID: "sa-uid", Audiences: []string{"vault", DefaultIssuer}, Expiration: time.Hour}, want: true},
		{name: "signed with another key", objs: objects{"serviceaccounts/ns/sa": sa, "pods/ns/p": pod}, spec: bound, other: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clocktesting.NewFakePassiveClock(now)
			s := newTestServiceAccounts(t, tt.objs, clk)
			issuer := s
			if tt.other {
				issuer = newTestServiceAccounts(t, tt.objs, clk)
			}
			tok, err := issuer.Issue(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			clk.SetTime(now.Add(tt.after))
			u, ok := s.AuthenticateToken(t.Context(), tok.Value)
			if ok != tt.want {
				t.Fatalf("AuthenticateToken() ok = %v, want %v", ok, tt.want)
			}
			if !ok {
				return
			}
			want := User{Name: "system:serviceaccount:ns:sa", UID: "sa-uid", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:ns", "system:authenticated"}}
			if diff := cmp.Diff(want, u); diff != "" {
				t.Errorf("user mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRSAKey: an RSA sa.key (kubeadm's kind) signs RS256 tokens that
// authenticate.
func TestRSAKey(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServiceAccounts(ServiceAccountsConfig{Key: key, Objects: objects{"serviceaccounts/ns/sa": {UID: "u"}}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Issue(TokenSpec{Namespace: "ns", Name: "sa", UID: "u", Expiration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	header, err := base64.RawURLEncoding.DecodeString(strings.Split(tok.Value, ".")[0])
	if err != nil || !strings.Contains(string(header), `"alg":"RS256"`) {
		t.Errorf("token header %s (%v), want alg RS256", header, err)
	}
	if u, ok := s.AuthenticateToken(t.Context(), tok.Value); !ok || u.Name != "system:serviceaccount:ns:sa" {
		t.Errorf("AuthenticateToken() = %+v, %v", u, ok)
	}
}

// TestTokenCache: a successful authentication is remembered for the cache
// TTL, never beyond the token's expiry.
func TestTokenCache(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clk := clocktesting.NewFakePassiveClock(now)
	objs := objects{"serviceaccounts/ns/sa": {UID: "sa-uid"}}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServiceAccounts(ServiceAccountsConfig{Key: key, Objects: objs, Clock: clk, CacheTTL: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Issue(TokenSpec{Namespace: "ns", Name: "sa", UID: "sa-uid", Expiration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.AuthenticateToken(t.Context(), tok.Value); !ok {
		t.Fatal("fresh token rejected")
	}
	delete(objs, "serviceaccounts/ns/sa")
	clk.SetTime(now.Add(5 * time.Second))
	if _, ok := s.AuthenticateToken(t.Context(), tok.Value); !ok {
		t.Error("token rejected within the cache TTL")
	}
	clk.SetTime(now.Add(11 * time.Second))
	if _, ok := s.AuthenticateToken(t.Context(), tok.Value); ok {
		t.Error("token of a deleted service account accepted after the cache TTL")
	}
}
