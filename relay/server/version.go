package server

import (
	"net/http"
	"runtime"
	"runtime/debug"
)

// Version is the relay's release, set at build time with
// -ldflags "-X github.com/pushops/push-operator/relay/server.Version=v1.2.3".
var Version = "dev"

// BuildInfo is what /version answers and `relay version` prints.
type BuildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	GoVersion string `json:"goVersion"`
}

// Build returns the running binary's build information.
func Build() BuildInfo {
	b := BuildInfo{Version: Version, GoVersion: runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				b.Commit = s.Value
			}
		}
	}
	return b
}

func version(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, Build()) }
