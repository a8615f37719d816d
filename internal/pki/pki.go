package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// File names inside the PKI directory.
const (
	caCertName      = "ca.crt"
	caKeyName       = "ca.key"
	servingCertName = "serving.crt"
	servingKeyName  = "serving.key"
	// saKeyName is the service account signing key, kubeadm's name.
	saKeyName = "sa.key"
)

const (
	caCommonName      = "batchd-ca"
	servingCommonName = "batchd"
	caValidity        = 10 * 365 * 24 * time.Hour
	servingValidity   = 365 * 24 * time.Hour
	// renewBefore is how long before its expiry a serving certificate is
	// re-issued.
	renewBefore = 30 * 24 * time.Hour
	// backdate allows for clocks of clients that run a little behind.
	backdate = time.Hour
)

// Bundle is what the API server and the kubeconfig writer need.
type Bundle struct {
	CACertPEM []byte          // the CA certificate, for kubeconfig certificate-authority-data
	CAPool    *x509.CertPool  // holds only the CA certificate
	Serving   tls.Certificate // serving certificate and key, signed by the CA; Leaf is set
	// ServiceAccountKey signs service account tokens (an *ecdsa.PrivateKey
	// when Ensure created it; an RSA key an administrator put in sa.key
	// also works).
	ServiceAccountKey crypto.Signer
}

// Ensure makes sure dir holds a CA and a serving certificate for the API
// server, and returns them. It creates dir with mode 0700, and the CA
// (ECDSA P-256, 10 years, CN batchd-ca) if ca.crt does not exist. It keeps
// the existing serving certificate if the CA signed it, it is valid for
// more than 30 more days and its SANs cover localhost, 127.0.0.1, ::1, the
// host name and every entry of hosts (IP addresses as IP SANs, anything
// else as DNS names); otherwise it issues a new one, valid for a year.
// Keys are written with mode 0600, and every file is replaced atomically.
//
// Ensure also keeps the service account signing key, sa.key (ECDSA P-256,
// PKCS #8), created if missing and never replaced: tokens signed with it
// must stay valid across restarts.
//
// Ensure returns an error, rather than creating a new CA, if ca.crt exists
// but is unusable (no ca.key, expired, not a CA): a new CA would silently
// break every kubeconfig that trusts the old one.
func Ensure(dir string, hosts []string) (*Bundle, error) {
	return ensure(dir, hosts, time.Now())
}

func ensure(dir string, hosts []string, now time.Time) (*Bundle, error) {
	names, err := servingNames(hosts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating PKI directory: %w", err)
	}
	ca, err := ensureCA(dir, now)
	if err != nil {
		return nil, err
	}
	serving, err := ensureServing(dir, ca, names, now)
	if err != nil {
		return nil, err
	}
	saKey, err := ensureServiceAccountKey(filepath.Join(dir, saKeyName))
	if err != nil {
		return nil, err
	}
	return &Bundle{CACertPEM: ca.certPEM, CAPool: ca.pool, Serving: serving, ServiceAccountKey: saKey}, nil
}

// ensureServiceAccountKey loads the service account signing key at path,
// creating it if the file does not exist. An unreadable key is an error,
// not a reason to make a new one: that would invalidate every token.
func ensureServiceAccountKey(path string) (crypto.Signer, error) {
	keyPEM, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key, keyPEM, err := newKey()
		if err != nil {
			return nil, err
		}
		if err := writeFileAtomic(path, keyPEM, 0o600); err != nil {
			return nil, err
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading service account key: %w", err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("loading service account key %s: %w", path, err)
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("loading service account key %s: ECDSA keys must use P-256", path)
		}
	case *rsa.PrivateKey:
	default:
		return nil, fmt.Errorf("loading service account key %s: a %T cannot sign tokens (want ECDSA P-256 or RSA)", path, key)
	}
	return key, nil
}

// servingNames returns the names the serving certificate must cover.
func servingNames(hosts []string) ([]string, error) {
	names := []string{"localhost", "127.0.0.1", "::1"}
	if h, err := os.Hostname(); err == nil && h != "" {
		names = append(names, h)
	}
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if h == "" {
			return nil, errors.New("pki: hosts contains an empty name")
		}
		if strings.ContainsAny(h, "/:") && net.ParseIP(h) == nil {
			return nil, fmt.Errorf("pki: host %q is neither an IP address nor a DNS name", h)
		}
		names = append(names, h)
	}
	for i, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			names[i] = ip.String()
		} else {
			names[i] = strings.ToLower(n)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// authority is a loaded CA.
type authority struct {
	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer
	pool    *x509.CertPool
}

// ensureCA loads the CA from dir, creating it if ca.crt does not exist.
// The key is written before the certificate, so a crash in between leaves
// no certificate anyone could have trusted, and the next run starts over.
func ensureCA(dir string, now time.Time) (*authority, error) {
	certPath, keyPath := filepath.Join(dir, caCertName), filepath.Join(dir, caKeyName)
	certPEM, err := os.ReadFile(certPath)
	if errors.Is(err, os.ErrNotExist) {
		return createCA(certPath, keyPath, now)
	}
	if err != nil {
		return nil, fmt.Errorf("reading CA certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("reading key of existing CA %s: %w", certPath, err)
	}
	cert, key, err := parsePair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("loading CA from %s: %w", dir, err)
	}
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("loading CA from %s: %s is not a CA certificate", dir, certPath)
	}
	if !now.Before(cert.NotAfter) {
		return nil, fmt.Errorf("loading CA from %s: it expired on %s; remove %s and %s to create a new one",
			dir, cert.NotAfter.Format(time.DateOnly), caCertName, caKeyName)
	}
	return newAuthority(cert, certPEM, key), nil
}

func createCA(certPath, keyPath string, now time.Time) (*authority, error) {
	key, keyPEM, err := newKey()
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: caCommonName},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("creating CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing new CA certificate: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return nil, err
	}
	return newAuthority(cert, certPEM, key), nil
}

func newAuthority(cert *x509.Certificate, certPEM []byte, key crypto.Signer) *authority {
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &authority{cert: cert, certPEM: certPEM, key: key, pool: pool}
}

// ensureServing returns the serving certificate in dir if it is still good
// for names, and issues a new one otherwise.
func ensureServing(dir string, ca *authority, names []string, now time.Time) (tls.Certificate, error) {
	certPath, keyPath := filepath.Join(dir, servingCertName), filepath.Join(dir, servingKeyName)
	certPEM, cerr := os.ReadFile(certPath)
	keyPEM, kerr := os.ReadFile(keyPath)
	if cerr == nil && kerr == nil && servingUsable(certPEM, keyPEM, ca, names, now) {
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("loading serving certificate: %w", err)
		}
		return pair, nil
	}
	return issueServing(certPath, keyPath, ca, names, now)
}

// servingUsable reports whether a stored serving certificate can be kept.
func servingUsable(certPEM, keyPEM []byte, ca *authority, names []string, now time.Time) bool {
	cert, _, err := parsePair(certPEM, keyPEM)
	if err != nil {
		return false
	}
	if now.Add(renewBefore).After(cert.NotAfter) {
		return false
	}
	for _, n := range names {
		_, err := cert.Verify(x509.VerifyOptions{
			DNSName:     n,
			Roots:       ca.pool,
			CurrentTime: now,
			KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		})
		if err != nil {
			return false
		}
	}
	return true
}

func issueServing(certPath, keyPath string, ca *authority, names []string, now time.Time) (tls.Certificate, error) {
	key, keyPEM, err := newKey()
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := newSerial()
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: servingCommonName},
		NotBefore:    now.Add(-backdate),
		NotAfter:     now.Add(servingValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("creating serving certificate: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	// A crash between the two writes leaves a mismatched pair, which the
	// next Ensure replaces.
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("loading new serving certificate: %w", err)
	}
	return pair, nil
}

// parsePair parses a PEM certificate and its PEM private key and checks
// that they belong together.
func parsePair(certPEM, keyPEM []byte) (*x509.Certificate, crypto.Signer, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, nil, errors.New("no PEM certificate found")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing certificate: %w", err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, nil, fmt.Errorf("encoding public key: %w", err)
	}
	if !bytes.Equal(pub, cert.RawSubjectPublicKeyInfo) {
		return nil, nil, errors.New("private key does not match certificate")
	}
	return cert, key, nil
}

// parseKey parses a PEM private key: PKCS #8, or the PKCS #1 ("RSA
// PRIVATE KEY") and SEC 1 ("EC PRIVATE KEY") forms openssl writes.
func parseKey(keyPEM []byte) (crypto.Signer, error) {
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, errors.New("no PEM private key found")
	}
	var parsed any
	var err error
	switch kb.Type {
	case "RSA PRIVATE KEY":
		parsed, err = x509.ParsePKCS1PrivateKey(kb.Bytes)
	case "EC PRIVATE KEY":
		parsed, err = x509.ParseECPrivateKey(kb.Bytes)
	default:
		parsed, err = x509.ParsePKCS8PrivateKey(kb.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("parsing private key: %w", err)
	}
	key, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("private key of type %T cannot sign", parsed)
	}
	return key, nil
}

// newKey returns a new ECDSA P-256 key and its PKCS #8 PEM encoding.
func newKey() (crypto.Signer, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generating key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding key: %w", err)
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// newSerial returns a random 128-bit certificate serial number.
func newSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generating serial number: %w", err)
	}
	return serial, nil
}

// writeFileAtomic replaces path with data: it writes a temporary file in
// the same directory, syncs it, renames it over path and syncs the
// directory, so readers see either the old or the new content, even after
// a crash.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly after the rename
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Chmod(perm)
	}
	if werr == nil {
		werr = f.Sync()
	}
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		return fmt.Errorf("writing %s: %w", path, werr)
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}
