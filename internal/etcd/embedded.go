package etcd

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap"
)

const (
	// memberName names the embedded member in etcd's cluster metadata.
	memberName = "batchd"
	// peerURL is the embedded member's advertised peer URL. Nothing listens
	// on it: a single member has no peers. It only has to stay the same
	// across restarts, because etcd derives the member ID from it.
	peerURL = "http://localhost:2380"
)

// openEmbedded starts a single-member cluster in cfg.DataDir and waits for
// it to be ready.
func openEmbedded(ctx context.Context, cfg Config) (*Cluster, error) {
	start := time.Now()
	if err := privateDir(cfg.DataDir); err != nil {
		return nil, err
	}
	if err := checkBackendUnlocked(cfg.DataDir); err != nil {
		return nil, err
	}
	elog := newEtcdLog(cfg.Log)
	ecfg, err := embedConfig(cfg, elog.zap())
	if err != nil {
		return nil, err
	}

	e, err := startEtcd(ctx, ecfg, elog)
	if err != nil {
		return nil, fmt.Errorf("starting embedded etcd in %s: %w", cfg.DataDir, err)
	}
	fail := func() {
		elog.beginClose()
		e.Close()
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-e.Server.StopNotify():
		fail()
		return nil, fmt.Errorf("starting embedded etcd in %s: server stopped before it was ready", cfg.DataDir)
	case err := <-e.Err():
		fail()
		return nil, fmt.Errorf("starting embedded etcd in %s: %w", cfg.DataDir, err)
	case <-ctx.Done():
		fail()
		return nil, fmt.Errorf("waiting for embedded etcd in %s to be ready: %w", cfg.DataDir, context.Cause(ctx))
	}

	c := &Cluster{client: v3client.New(e.Server), member: e, log: elog}
	for _, l := range e.Clients {
		c.urls = append(c.urls, listenerURL(l.Addr().Network(), l.Addr().String()))
	}
	cfg.Log.Info("Embedded etcd ready", "elapsed", time.Since(start))
	return c, nil
}

// startEtcd runs embed.StartEtcd, which does not take a context. If ctx
// ends first, startEtcd waits for the member to finish starting and closes
// it, so that nothing of it outlives the caller, who may remove its data
// directory next (etcd exits the process when its files vanish under it),
// then returns ctx's cause. StartEtcd blocks longer than its start only
// while another process holds the backend's file lock, which openEmbedded
// checked just before; should that happen, startEtcd gives up waiting
// after abandonStart and leaves the goroutine to close the member.
func startEtcd(ctx context.Context, ecfg *embed.Config, elog *etcdLog) (*embed.Etcd, error) {
	type result struct {
		e   *embed.Etcd
		err error
	}
	done := make(chan result) // unbuffered: a send succeeds only while we wait
	abandoned := make(chan struct{})
	go func() {
		e, err := embed.StartEtcd(ecfg)
		select {
		case done <- result{e, err}:
		case <-abandoned:
			if e != nil {
				elog.beginClose()
				e.Close()
			}
		}
	}()
	select {
	case r := <-done:
		return r.e, r.err
	case <-ctx.Done():
	}
	timer := time.NewTimer(abandonStart)
	defer timer.Stop()
	select {
	case r := <-done:
		if r.e != nil {
			elog.beginClose()
			r.e.Close()
		}
		if r.err != nil { // a failure of its own, not to be lost in the stop
			return nil, errors.Join(context.Cause(ctx), r.err)
		}
	case <-timer.C:
		close(abandoned)
	}
	return nil, context.Cause(ctx)
}

// abandonStart bounds how long a stopped start waits for etcd's.
const abandonStart = 30 * time.Second

// embedConfig translates cfg into etcd's configuration for a single member
// with no peer listener and at most one client listener.
func embedConfig(cfg Config, lg *zap.Logger) (*embed.Config, error) {
	ec := embed.NewConfig()
	ec.Name = memberName
	ec.Dir = cfg.DataDir
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(lg)
	// Only "debug" has an effect with our own logger: it would register
	// pprof and x/net/trace handlers on the client listener.
	ec.LogLevel = "warn"

	pu, err := url.Parse(peerURL)
	if err != nil {
		return nil, fmt.Errorf("parsing peer URL: %w", err)
	}
	ec.ListenPeerUrls = nil
	ec.AdvertisePeerUrls = []url.URL{*pu}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)

	ec.ListenClientUrls, ec.AdvertiseClientUrls = nil, nil
	if cfg.ListenClientURL != "" {
		u, err := listenURL(cfg.ListenClientURL)
		if err != nil {
			return nil, err
		}
		ec.ListenClientUrls = []url.URL{u}
		ec.AdvertiseClientUrls = []url.URL{u}
	}
	ec.ListenMetricsUrls = nil
	ec.EnableGRPCGateway = false

	// A fresh member campaigns after 1 to electionTicks ticks (etcd
	// advances electionTicks-1 of its randomized 1-2x election timeout):
	// with etcd's 100 ms and 1 s, a server waited 0.1-1 s for its own
	// election, most of its start. A single member cannot lose an
	// election nor a leader it does not have, so the shortest election
	// timeout etcd allows for 100 ms ticks (5 ticks) costs nothing: ready
	// in 0.2-0.6 s instead of 0.3-1.1 s, idle CPU unchanged (0.5 % of a
	// core; ticks, not the timeout, cost it).
	ec.TickMs, ec.ElectionMs = 100, 500
	if cfg.FastElection {
		ec.TickMs, ec.ElectionMs = 10, 100
	}
	// etcd warns of every request that takes over 100 ms to apply (300 ms
	// to answer): on a small machine whose cores run pods, that is every
	// busy second, and two thirds of a server's log lines while it ran a
	// 1,000-pod Job. Over a second still says something is wrong.
	ec.WarningApplyDuration, ec.WarningUnaryRequestDuration = time.Second, time.Second
	ec.AutoCompactionMode = embed.CompactorModePeriodic
	ec.AutoCompactionRetention = cfg.CompactionRetention.String()
	ec.QuotaBackendBytes = cfg.QuotaBackendBytes
	ec.UnsafeNoFsync = cfg.NoFsync
	ec.WatchProgressNotifyInterval = cfg.ProgressNotifyInterval
	return ec, nil
}

// privateDir creates dir with mode 0700, or tightens an existing one to
// 0700: the etcd data is readable as a whole by anyone who can read it.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating etcd data directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("checking etcd data directory: %w", err)
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("making etcd data directory private: %w", err)
		}
	}
	return nil
}

// checkBackendUnlocked fails if another etcd member, in this process or
// another, has the backend database in dir open. etcd itself would wait for
// that lock forever (bbolt takes an flock on it with no timeout).
func checkBackendUnlocked(dir string) error {
	db := filepath.Join(dir, "member", "snap", "db")
	f, err := os.Open(db)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("opening etcd backend to check its lock: %w", err)
	}
	defer f.Close() // closing the descriptor drops our probe lock
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("etcd data in %s is in use by another etcd member (lock on %s held)", dir, db)
		}
		return fmt.Errorf("checking lock on %s: %w", db, err)
	}
	return nil
}

// listenerURL turns a listener address back into a client URL.
func listenerURL(network, addr string) string {
	if network == "unix" {
		return "unix://" + addr
	}
	return "http://" + addr
}
