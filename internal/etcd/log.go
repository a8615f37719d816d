package etcd

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// etcdLog routes the zap logs of etcd's server and client code into an
// slog.Logger. etcd logs dozens of info lines at start-up and on every
// close, so only warn and above pass, in an "etcd" group so that etcd's
// field names never collide with our log keys. Warnings that are known to
// be harmless for the way batchd runs etcd, and everything logged once
// shutdown has begun, are logged at debug level instead.
type etcdLog struct {
	log     *slog.Logger
	closing atomic.Bool
}

func newEtcdLog(log *slog.Logger) *etcdLog {
	return &etcdLog{log: log.WithGroup("etcd")}
}

// zap returns a zap logger that writes to l.
func (l *etcdLog) zap() *zap.Logger {
	return zap.New(&slogCore{parent: l, log: l.log})
}

// beginClose demotes whatever etcd logs from now on to debug level: a
// shutting-down server reports its closed listeners as errors.
func (l *etcdLog) beginClose() { l.closing.Store(true) }

// harmless reports whether an entry is known noise. Each of these is logged
// at warn level or above by every healthy single member that batchd runs.
func harmless(e zapcore.Entry, fields []zapcore.Field) bool {
	switch e.Message {
	case "Running http and grpc server on single port. This is not recommended for production.":
		// embed.Config.Validate logs it even with no listener at all. Our
		// only listener is an opt-in debugging one.
		return true
	case "simple token is not cryptographically signed":
		// Logged when the server is built; batchd does not enable auth.
		return true
	case "Failed to detect schema version", "failed to update storage version":
		// A new member's storage-version monitor can run before the first
		// term reaches the backend; it retries and succeeds
		// (etcd-io/etcd#18978: "doesn't do any harm").
		for _, f := range fields {
			if err, ok := f.Interface.(error); ok && f.Type == zapcore.ErrorType {
				msg := err.Error()
				return strings.Contains(msg, "missing term information") ||
					strings.Contains(msg, "missing confstate information")
			}
		}
	}
	return false
}

// slogCore is a zapcore.Core that hands entries to an slog.Logger. zap's
// API carries no context, so records are logged with context.Background().
type slogCore struct {
	parent *etcdLog
	log    *slog.Logger // parent.log with the fields of With calls
}

func (c *slogCore) Enabled(l zapcore.Level) bool {
	return l >= zapcore.WarnLevel
}

func (c *slogCore) With(fields []zapcore.Field) zapcore.Core {
	return &slogCore{parent: c.parent, log: c.log.With(attrs(fields)...)}
}

func (c *slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *slogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	level := slog.LevelWarn
	if e.Level > zapcore.WarnLevel {
		level = slog.LevelError
	}
	if c.parent.closing.Load() || harmless(e, fields) {
		level = slog.LevelDebug
	}
	ctx := context.Background()
	if c.log.Enabled(ctx, level) {
		c.log.Log(ctx, level, e.Message, attrs(fields)...)
	}
	return nil
}

func (c *slogCore) Sync() error { return nil }

// attrs converts zap fields to slog key/value arguments, sorted by key.
func attrs(fields []zapcore.Field) []any {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range fields {
		f.AddTo(enc)
	}
	args := make([]any, 0, len(enc.Fields))
	for _, k := range slices.Sorted(maps.Keys(enc.Fields)) {
		args = append(args, slog.Any(k, enc.Fields[k]))
	}
	return args
}
