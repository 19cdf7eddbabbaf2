package localcluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is one daemon of the cluster, its output in logs/<name>.log and its PID in
// run/<name>.pid (so that a later run stops it if this one crashed).
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

func (c *Cluster) logDir() string { return c.dir + "-logs" }

func (c *Cluster) start(name, binary string, args ...string) (*process, error) {
	if err := os.MkdirAll(c.logDir(), 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.path("run"), 0o755); err != nil {
		return nil, err
	}
	out, err := os.Create(filepath.Join(c.logDir(), name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = out, out
	// Own process group: Ctrl-C in the terminal reaches us, and we stop the daemons in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); out.Close(); close(p.done) }()
	_ = os.WriteFile(c.path("run", name+".pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
	c.procs = append(c.procs, p)
	return p, nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and, after grace, SIGKILL.
func (p *process) stop(grace time.Duration) {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
	}
}

// stopProcesses stops the daemons in reverse start order.
func (c *Cluster) stopProcesses() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		if p.name == "containerd" && !p.exited() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			c.killContainers(ctx)
			cancel()
		}
		c.logf("stopping %s", p.name)
		p.stop(15 * time.Second)
		_ = os.Remove(c.path("run", p.name+".pid"))
	}
	c.procs = nil
}

// killPIDFile stops a daemon an earlier run left behind, by the PID it recorded, after
// checking that the PID still runs that daemon's binary.
func killPIDFile(pidFile, binary string) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return
	}
	if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err != nil || filepath.Base(strings.TrimSuffix(exe, " (deleted)")) != binary {
		_ = os.Remove(pidFile)
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for range 100 {
		if err := syscall.Kill(pid, 0); err != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	_ = os.Remove(pidFile)
}

// waitFor polls check every interval until it succeeds, the process dies, or timeout.
func waitFor(ctx context.Context, p *process, timeout time.Duration, what string, check func() error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if p != nil && p.exited() {
			return fmt.Errorf("%s exited (see its log); last check: %v", p.name, last)
		}
		if last = check(); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not after %s: %v", what, timeout, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func httpCheck(client *http.Client, url string) func() error {
	return func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return errors.New(resp.Status)
		}
		return nil
	}
}

// run runs a short command and returns its combined output in the error.
func run(ctx context.Context, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
