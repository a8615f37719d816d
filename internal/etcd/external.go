package etcd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Keepalive settings for connections to an external cluster, as
// kube-apiserver uses them: a dead connection under a long watch is noticed
// within about 40 s.
const (
	keepAliveTime    = 30 * time.Second
	keepAliveTimeout = 10 * time.Second
)

// probeKey is read (count only) to check that an external cluster serves
// linearizable reads, as `etcdctl endpoint health` does.
const probeKey = "health"

// openExternal connects to cfg.Endpoints and waits until the cluster answers
// a linearizable read.
func openExternal(ctx context.Context, cfg Config) (*Cluster, error) {
	start := time.Now()
	tlsCfg, err := clientTLS(cfg.TLS, cfg.Endpoints)
	if err != nil {
		return nil, err
	}
	elog := newEtcdLog(cfg.Log)
	// clientv3.New does not dial; the first request does.
	client, err := clientv3.New(clientv3.Config{
		Endpoints:            cfg.Endpoints,
		TLS:                  tlsCfg,
		DialKeepAliveTime:    keepAliveTime,
		DialKeepAliveTimeout: keepAliveTimeout,
		Logger:               elog.zap(),
	})
	if err != nil {
		return nil, fmt.Errorf("creating etcd client for %s: %w", strings.Join(cfg.Endpoints, ","), err)
	}
	if _, err := client.Get(ctx, probeKey, clientv3.WithCountOnly()); err != nil {
		elog.beginClose()
		client.Close()
		return nil, fmt.Errorf("connecting to etcd at %s: %w", strings.Join(cfg.Endpoints, ","), err)
	}
	cfg.Log.Info("Connected to external etcd", "endpoints", cfg.Endpoints, "elapsed", time.Since(start))
	return &Cluster{client: client, urls: slices.Clone(cfg.Endpoints), log: elog}, nil
}

// clientTLS builds the client's TLS configuration. It returns nil (plain
// connections) when no TLS file is given and no endpoint asks for TLS.
func clientTLS(t TLS, endpoints []string) (*tls.Config, error) {
	secure := slices.ContainsFunc(endpoints, func(ep string) bool {
		return strings.HasPrefix(ep, "https://") || strings.HasPrefix(ep, "unixs:")
	})
	if t.empty() && !secure {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("loading etcd client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading etcd CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("reading etcd CA file %s: no PEM certificates found", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
