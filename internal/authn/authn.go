package authn

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// User is an authenticated identity, shaped like upstream's user.Info.
type User struct {
	Name   string
	UID    string
	Groups []string
}

// Well-known identities.
const (
	AdminName     = "batchd-admin"
	LoopbackName  = "system:apiserver"
	GroupMasters  = "system:masters"
	GroupAuthed   = "system:authenticated"
	tokenBytes    = 32
	tokenFileMode = 0o600
)

// Tokens authenticates requests by bearer token against a fixed set.
type Tokens struct {
	users map[string]User
}

// NewTokens returns an authenticator accepting the given token→user pairs.
func NewTokens(users map[string]User) *Tokens {
	return &Tokens{users: users}
}

// Authenticator tells who sent a request.
type Authenticator interface {
	Authenticate(r *http.Request) (User, bool)
}

// Union tries each authenticator in turn; the first that knows the
// request's credentials decides.
type Union []Authenticator

// Authenticate implements Authenticator.
func (u Union) Authenticate(r *http.Request) (User, bool) {
	for _, a := range u {
		if user, ok := a.Authenticate(r); ok {
			return user, true
		}
	}
	return User{}, false
}

// bearer returns r's bearer token.
func bearer(r *http.Request) (string, bool) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	token = strings.TrimSpace(token)
	return token, ok && token != ""
}

// Authenticate returns the user behind r's bearer token.
func (t *Tokens) Authenticate(r *http.Request) (User, bool) {
	token, ok := bearer(r)
	if !ok {
		return User{}, false
	}
	for known, u := range t.users {
		if subtle.ConstantTimeCompare([]byte(known), []byte(token)) == 1 {
			return u, true
		}
	}
	return User{}, false
}

// NewToken returns a random token.
func NewToken() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// LoadOrCreateToken reads the token stored at path, or creates one there
// (mode 0600) if the file does not exist.
func LoadOrCreateToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		token := strings.TrimSpace(string(b))
		if token == "" {
			return "", fmt.Errorf("token file %s is empty", path)
		}
		return token, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("reading token %s: %w", path, err)
	}
	token, err := NewToken()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("creating directory for %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(token+"\n"), tokenFileMode); err != nil {
		return "", fmt.Errorf("writing token %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("writing token %s: %w", path, err)
	}
	return token, nil
}
