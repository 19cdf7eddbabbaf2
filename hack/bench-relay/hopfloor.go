package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The hop floor is the cheapest relay there can be: a separate process with a bare net/http
// server that reads the request, sends one prebuilt push with the same client library and
// transport as the ceiling, and answers OK — no decoding, validation, policy, metrics or
// retries. Measured in the same run, it separates what any extra process hop costs on this
// machine (ceiling → hop floor) from what the relay's own work costs (hop floor → relay).

// hopFloorFlag runs this binary as the hop floor server instead of the benchmark.
const hopFloorFlag = "hop-floor-serve"

// serveHopFloor is the hop floor process: it listens on loopback, prints its address on
// stdout and serves POST /apple and /android until stdin closes (the benchmark ended).
func serveHopFloor(endpointsFile string) error {
	raw, err := os.ReadFile(endpointsFile)
	if err != nil {
		return err
	}
	var e endpoints
	if err := json.Unmarshal(raw, &e); err != nil {
		return err
	}
	mux := http.NewServeMux()
	for _, platform := range []string{"apple", "android"} {
		send := directSend(e, platform)
		mux.HandleFunc("POST /"+platform, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			if err := send(r.Context()); err != nil {
				http.Error(w, `{"status":"FAIL"}`, http.StatusInternalServerError)
				return
			}
			_, _ = io.WriteString(w, `{"status":"OK"}`)
		})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		ln.Close()
	}()
	err = (&http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
	if err == http.ErrServerClosed || strings.Contains(fmt.Sprint(err), "use of closed") {
		return nil
	}
	return err
}

// hopFloor is the running hop floor process.
type hopFloor struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	url   string
}

func startHopFloor(w *world) (*hopFloor, error) {
	raw, err := json.Marshal(w.endpoints())
	if err != nil {
		return nil, err
	}
	file := filepath.Join(w.dir, "endpoints.json")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "--"+hopFloorFlag, file)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	h := &hopFloor{cmd: cmd, stdin: stdin}
	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		addr <- strings.TrimSpace(line)
	}()
	select {
	case a := <-addr:
		if a == "" {
			h.stop()
			return nil, fmt.Errorf("hop floor process did not start")
		}
		h.url = "http://" + a
	case <-time.After(15 * time.Second):
		h.stop()
		return nil, fmt.Errorf("hop floor process did not start within 15s")
	}
	return h, nil
}

func (h *hopFloor) send(platform string) sendFunc { return postPush(h.url+"/"+platform, platform) }

func (h *hopFloor) stop() {
	h.stdin.Close()
	done := make(chan struct{})
	go func() { _ = h.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = h.cmd.Process.Kill()
		<-done
	}
}
