package processtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pushops/push-operator/relay/config"
	"github.com/pushops/push-operator/relay/push"
	"github.com/pushops/push-operator/relay/relaytest"
)

var relayBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "relay-processtest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	relayBin = filepath.Join(dir, "relay")
	build := exec.Command("go", "build", "-o", relayBin, "github.com/pushops/push-operator/cmd/relay")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building cmd/relay:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// relayProcess is a running relay binary.
type relayProcess struct {
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan struct{}
	err    error
}

func startRelay(t *testing.T, w *relaytest.World) *relayProcess {
	t.Helper()
	p := &relayProcess{logs: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(relayBin, "--config="+w.Write())
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("relay logs:\n%s", p.logs)
		}
	})
	relaytest.Eventually(t, 30*time.Second, func() bool { return ready(w) }, p.logs.String)
	return p
}

func ready(w *relaytest.World) bool {
	resp, err := http.Get(w.BaseURL() + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// wait returns the exit code once the process ends (bounded).
func (p *relayProcess) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(within):
		t.Fatalf("relay still running %s after SIGTERM", within)
	}
	var exit *exec.ExitError
	if errors.As(p.err, &exit) {
		return exit.ExitCode()
	}
	if p.err != nil {
		t.Fatal(p.err)
	}
	return 0
}

// load sends pushes from several workers, alternating Apple and Android, until stop is
// closed or each worker has sent max. Like a load balancer, it stops starting requests
// once gate reports false.
type load struct {
	ok, notOK, errs atomic.Int64
	mu              sync.Mutex
	problems        []string
}

func (l *load) run(w *relaytest.World, workers, max int, stop <-chan struct{}) *sync.WaitGroup {
	wg := &sync.WaitGroup{}
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 40 * time.Second}
			for j := range max {
				select {
				case <-stop:
					return
				default:
				}
				n := push.Notification{AckID: fmt.Sprintf("ack-%d-%d", i, j), ServerID: "srv1", PostID: "p", Type: push.TypeMessage,
					Message: "hi", Badge: 1, Platform: relaytest.ApplePlatform + "-v2", DeviceID: fmt.Sprintf("apple%04d%06d", i, j)}
				if j%2 == 1 {
					n.Platform, n.DeviceID = relaytest.AndroidPlatform+"-v2", fmt.Sprintf("android%04d%06d", i, j)
				}
				l.send(client, w.BaseURL(), n)
			}
		}()
	}
	return wg
}

func (l *load) send(c *http.Client, base string, n push.Notification) {
	b, _ := json.Marshal(n)
	resp, err := c.Post(base+"/api/v1/send_push", "", bytes.NewReader(b))
	if err != nil {
		l.errs.Add(1)
		l.note(fmt.Sprintf("%s: %v", n.AckID, err))
		return
	}
	defer resp.Body.Close()
	var r push.Response
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != 200 || r.Status != push.StatusOK {
		l.notOK.Add(1)
		l.note(fmt.Sprintf("%s: HTTP %d %+v %v", n.AckID, resp.StatusCode, r, err))
		return
	}
	l.ok.Add(1)
}

func (l *load) note(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.problems) < 10 {
		l.problems = append(l.problems, s)
	}
}

// TestSIGTERMDuringLoadAnswersEveryAcceptedPush: SIGTERM while pushes are in flight; the
// relay keeps serving through its shutdown delay with /readyz failing, finishes every
// in-flight send, and exits 0. The load stops starting requests shortly after /readyz
// fails, as a Service's endpoints would.
func TestSIGTERMDuringLoadAnswersEveryAcceptedPush(t *testing.T) {
	w := relaytest.NewWorld(t)
	w.Config.Timeouts.ShutdownDelay = config.Duration(4 * time.Second)
	w.APNs.SetLatency(40 * time.Millisecond)
	w.FCM.SetLatency(40 * time.Millisecond)
	p := startRelay(t, w)

	l := &load{}
	stop := make(chan struct{})
	wg := l.run(w, 16, 2000, stop)
	relaytest.Eventually(t, 30*time.Second, func() bool { return l.ok.Load() >= 200 }, func() string { return fmt.Sprintf("only %d answered", l.ok.Load()) })

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	atSignal := l.ok.Load()
	relaytest.Eventually(t, 2*time.Second, func() bool { return !ready(w) }, func() string { return "readyz still OK after SIGTERM" })
	// Endpoints take a moment to drop a pod that turned unready: requests keep arriving,
	// and within the shutdown delay they are still served.
	notReady := l.ok.Load()
	relaytest.Eventually(t, 3*time.Second, func() bool { return l.ok.Load() >= notReady+50 },
		func() string { return fmt.Sprintf("only %d pushes answered while draining", l.ok.Load()-notReady) })
	close(stop)
	wg.Wait()

	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	if l.errs.Load() != 0 || l.notOK.Load() != 0 {
		t.Errorf("%d transport errors, %d non-OK answers: %v", l.errs.Load(), l.notOK.Load(), l.problems)
	}
	delivered := w.APNs.Count() + w.FCM.Count()
	if delivered != l.ok.Load() {
		t.Errorf("fakes received %d pushes, callers got %d OK answers", delivered, l.ok.Load())
	}
	if l.ok.Load() <= atSignal {
		t.Errorf("no push answered after SIGTERM (%d at the signal, %d at the end)", atSignal, l.ok.Load())
	}
	t.Logf("answered %d pushes, %d of them after SIGTERM; all OK, none lost", l.ok.Load(), l.ok.Load()-atSignal)
}

// TestCredentialRotationDuringLoad: the mounted Secret's credentials are replaced while
// pushes flow; the relay picks up the new APNs certificate and FCM key without a restart
// and no push fails.
func TestCredentialRotationDuringLoad(t *testing.T) {
	w := relaytest.NewWorld(t)
	w.Config.Timeouts.ShutdownDelay = config.Duration(100 * time.Millisecond)
	w.APNs.SetLatency(20 * time.Millisecond)
	w.FCM.SetLatency(20 * time.Millisecond)
	p := startRelay(t, w)

	l := &load{}
	stop := make(chan struct{})
	wg := l.run(w, 8, 100000, stop)
	defer func() { close(stop); wg.Wait() }()
	relaytest.Eventually(t, 30*time.Second, func() bool { return l.ok.Load() >= 100 }, func() string { return fmt.Sprintf("only %d answered", l.ok.Load()) })

	tokensBefore := w.FCM.TokensIssued()
	w.RotateCredentials()
	newCN := relaytest.CertCN(w.Generation())
	relaytest.Eventually(t, 30*time.Second, func() bool {
		reqs := w.APNs.Requests()
		return len(reqs) > 0 && reqs[len(reqs)-1].ClientCN == newCN && w.FCM.TokensIssued() > tokensBefore
	}, func() string { return "the relay did not switch to the rotated credentials" })
	after := l.ok.Load()
	relaytest.Eventually(t, 30*time.Second, func() bool { return l.ok.Load() >= after+100 }, func() string { return "load stalled after rotation" })

	close(stop)
	wg.Wait()
	stop = make(chan struct{}) // for the deferred close
	if l.errs.Load() != 0 || l.notOK.Load() != 0 {
		t.Errorf("%d transport errors, %d non-OK answers during rotation: %v", l.errs.Load(), l.notOK.Load(), l.problems)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Errorf("exit code %d, want 0", code)
	}
	t.Logf("answered %d pushes across a credential rotation, all OK", l.ok.Load())
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
