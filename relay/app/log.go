package app

import (
	"fmt"
	"io"

	"github.com/go-logr/logr"
	"github.com/go-logr/zapr"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/pushops/push-operator/relay/config"
)

// NewLogger builds the relay's logger from log.level and log.format: zap behind logr, JSON
// or plain (console) lines. Debug is logr's V(1). flush writes buffered lines.
func NewLogger(c config.Log, out io.Writer) (log logr.Logger, flush func(), err error) {
	var level zapcore.Level
	switch c.Level {
	case "debug":
		level = zapcore.DebugLevel
	case "info", "":
		level = zapcore.InfoLevel
	case "warn":
		level = zapcore.WarnLevel
	case "error":
		level = zapcore.ErrorLevel
	default:
		return logr.Discard(), func() {}, fmt.Errorf("log.level %q: use debug, info, warn or error", c.Level)
	}
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	var encoder zapcore.Encoder
	switch c.Format {
	case "json", "":
		encoder = zapcore.NewJSONEncoder(enc)
	case "plain":
		enc.EncodeLevel = zapcore.CapitalLevelEncoder
		encoder = zapcore.NewConsoleEncoder(enc)
	default:
		return logr.Discard(), func() {}, fmt.Errorf("log.format %q: use json or plain", c.Format)
	}
	ws := zapcore.Lock(zapcore.AddSync(out))
	z := zap.New(zapcore.NewCore(encoder, ws, level), zap.ErrorOutput(ws))
	return zapr.NewLogger(z), func() { _ = z.Sync() }, nil
}
