package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustEnsure(t *testing.T, dir string, hosts []string, now time.Time) *Bundle {
	t.Helper()
	b, err := ensure(dir, hosts, now)
	if err != nil {
		t.Fatalf("ensure(%v) error = %v", hosts, err)
	}
	return b
}

// sans returns the names every serving certificate must cover, plus extra.
func sans(extra ...string) []string {
	names := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil && h != "" {
		names = append(names, h)
	}
	return append(names, extra...)
}

func TestEnsureCreatesFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	if _, err := Ensure(dir, nil); err != nil {
		t.Fatalf("Ensure() error = %v", err)
	}
	tests := []struct {
		name string
		mode os.FileMode
	}{
		{name: ".", mode: 0o700 | os.ModeDir},
		{name: "ca.crt", mode: 0o644},
		{name: "ca.key", mode: 0o600},
		{name: "serving.crt", mode: 0o644},
		{name: "serving.key", mode: 0o600},
		{name: "sa.key", mode: 0o600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fi, err := os.Stat(filepath.Join(dir, tt.name))
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode(); got != tt.mode {
				t.Errorf("mode = %v, want %v", got, tt.mode)
			}
		})
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 5 {
		t.Errorf("directory holds %d entries, want 5 (no temporary files left)", len(entries))
	}
}

func TestEnsureIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	first := mustEnsure(t, dir, []string{"batchd.example"}, now)
	second := mustEnsure(t, dir, []string{"batchd.example"}, now.Add(time.Hour))

	if !bytes.Equal(first.CACertPEM, second.CACertPEM) {
		t.Error("second Ensure returned a different CA")
	}
	if !bytes.Equal(first.Serving.Certificate[0], second.Serving.Certificate[0]) {
		t.Error("second Ensure re-issued a serving certificate that was still good")
	}
}

// TestServiceAccountKeyKept: the token signing key is created once and
// reused, so tokens issued before a restart stay valid; a damaged key is
// an error, never silently replaced.
func TestServiceAccountKeyKept(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	first := mustEnsure(t, dir, nil, now)
	second := mustEnsure(t, dir, nil, now.Add(400*24*time.Hour)) // re-issues the serving certificate
	k1, ok := first.ServiceAccountKey.(*ecdsa.PrivateKey)
	if !ok || k1.Curve != elliptic.P256() {
		t.Fatalf("service account key = %T, want ECDSA P-256", first.ServiceAccountKey)
	}
	if !k1.Equal(second.ServiceAccountKey) {
		t.Error("second Ensure returned a different service account key")
	}
	if err := os.WriteFile(filepath.Join(dir, "sa.key"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ensure(dir, nil, now); err == nil || !strings.Contains(err.Error(), "loading service account key") {
		t.Errorf("ensure() with a damaged sa.key: error = %v, want loading service account key", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "sa.key")); string(b) != "garbage" {
		t.Error("damaged sa.key was replaced")
	}
}

func TestServingCertificateCoversNames(t *testing.T) {
	extra := []string{"batchd.example", "10.1.2.3", "fd00::7", "UPPER.example"}
	b := mustEnsure(t, t.TempDir(), extra, time.Now())
	if b.Serving.Leaf == nil {
		t.Fatal("Serving.Leaf is nil")
	}
	for _, name := range sans(extra...) {
		t.Run(name, func(t *testing.T) {
			_, err := b.Serving.Leaf.Verify(x509.VerifyOptions{
				DNSName:   name,
				Roots:     b.CAPool,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			})
			if err != nil {
				t.Errorf("Verify(%s) error = %v", name, err)
			}
		})
	}
	if _, err := b.Serving.Leaf.Verify(x509.VerifyOptions{DNSName: "other.example", Roots: b.CAPool}); err == nil {
		t.Error("Verify(other.example) succeeded, want a name mismatch")
	}
}

func TestServingCertificateReissued(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name      string
		hosts     []string
		now       time.Time
		damage    func(t *testing.T, dir string)
		wantSame  bool
		wantNames []string
	}{
		{
			name:     "unchanged",
			now:      now,
			wantSame: true,
		},
		{
			name:      "new host added",
			hosts:     []string{"added.example"},
			now:       now,
			wantNames: []string{"added.example"},
		},
		{
			name: "expires within 30 days",
			now:  now.Add(340 * 24 * time.Hour),
		},
		{
			name:   "key does not match certificate",
			now:    now,
			damage: func(t *testing.T, dir string) { replaceFrom(t, dir, "serving.key") },
		},
		{
			name: "certificate is garbage",
			now:  now,
			damage: func(t *testing.T, dir string) {
				if err := os.WriteFile(filepath.Join(dir, "serving.crt"), []byte("garbage"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "key is missing",
			now:  now,
			damage: func(t *testing.T, dir string) {
				if err := os.Remove(filepath.Join(dir, "serving.key")); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			before := mustEnsure(t, dir, nil, now)
			if tt.damage != nil {
				tt.damage(t, dir)
			}
			after := mustEnsure(t, dir, tt.hosts, tt.now)

			if !bytes.Equal(before.CACertPEM, after.CACertPEM) {
				t.Error("the CA changed; want it kept")
			}
			same := bytes.Equal(before.Serving.Certificate[0], after.Serving.Certificate[0])
			if same != tt.wantSame {
				t.Errorf("serving certificate kept = %v, want %v", same, tt.wantSame)
			}
			for _, name := range sans(tt.wantNames...) {
				_, err := after.Serving.Leaf.Verify(x509.VerifyOptions{
					DNSName:     name,
					Roots:       after.CAPool,
					CurrentTime: tt.now,
				})
				if err != nil {
					t.Errorf("Verify(%s) error = %v", name, err)
				}
			}
		})
	}
}

// replaceFrom overwrites dir/name with the same file of a fresh PKI
// directory, giving dir a well-formed file that does not belong there.
func replaceFrom(t *testing.T, dir, name string) {
	t.Helper()
	other := t.TempDir()
	mustEnsure(t, other, nil, time.Now())
	data, err := os.ReadFile(filepath.Join(other, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestEnsureKeepsBrokenCA(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name    string
		now     time.Time
		damage  func(t *testing.T, dir string)
		wantErr string
	}{
		{
			name: "CA key missing",
			now:  now,
			damage: func(t *testing.T, dir string) {
				if err := os.Remove(filepath.Join(dir, "ca.key")); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "reading key of existing CA",
		},
		{
			name:    "CA key from another CA",
			now:     now,
			damage:  func(t *testing.T, dir string) { replaceFrom(t, dir, "ca.key") },
			wantErr: "private key does not match certificate",
		},
		{
			name:    "CA expired",
			now:     now.Add(11 * 365 * 24 * time.Hour),
			damage:  func(*testing.T, string) {},
			wantErr: "expired on",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			mustEnsure(t, dir, nil, now)
			caBefore, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
			if err != nil {
				t.Fatal(err)
			}
			tt.damage(t, dir)

			_, err = ensure(dir, nil, tt.now)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ensure() error = %v, want it to contain %q", err, tt.wantErr)
			}
			caAfter, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
			if err != nil || !bytes.Equal(caBefore, caAfter) {
				t.Errorf("ca.crt changed or vanished (%v); want it left alone", err)
			}
		})
	}
}

func TestEnsureRejectsBadHosts(t *testing.T) {
	tests := []struct {
		name string
		host string
	}{
		{name: "empty", host: ""},
		{name: "host with port", host: "host:6443"},
		{name: "URL", host: "https://host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Ensure(t.TempDir(), []string{tt.host}); err == nil {
				t.Errorf("Ensure(hosts=[%q]) succeeded, want error", tt.host)
			}
		})
	}
}

func TestTLSHandshake(t *testing.T) {
	b, err := Ensure(t.TempDir(), nil)
	if err != nil {
		t.Fatalf("Ensure() error = %v", err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{b.Serving}}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	// The server listens on 127.0.0.1; ServerName makes the client check
	// each name the certificate must carry.
	for _, name := range sans() {
		t.Run(name, func(t *testing.T) {
			client := &http.Client{Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: b.CAPool, ServerName: name},
			}}
			defer client.CloseIdleConnections()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("GET %s as %s: %v", srv.URL, name, err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil || string(body) != "ok" {
				t.Errorf("body = %q, %v; want \"ok\"", body, err)
			}
		})
	}
}
