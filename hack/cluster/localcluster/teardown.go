package localcluster

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"
)

// checkPrerequisites says what is missing and how to get it.
func (c *Cluster) checkPrerequisites(context.Context) error {
	if runtime.GOOS != "linux" {
		return errors.New("a local cluster needs Linux")
	}
	if os.Geteuid() != 0 {
		return errors.New("a local cluster needs root (kubelet, containerd, network setup)")
	}
	var missing []string
	for _, tool := range []string{"containerd", "runc", "ctr", "iptables", "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	for _, plugin := range []string{"bridge", "host-local", "portmap", "loopback"} {
		if _, err := os.Stat(filepath.Join("/usr/lib/cni", plugin)); err != nil {
			missing = append(missing, "/usr/lib/cni/"+plugin)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s; install with: apt-get update && apt-get install -y containerd runc containernetworking-plugins iptables iproute2",
			strings.Join(missing, ", "))
	}
	for _, b := range []string{"etcd", "kube-apiserver", "kubectl", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "coredns"} {
		if _, err := os.Stat(filepath.Join(c.k8s, b)); err != nil {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s in %s; build them with: make k8s-node-bins", strings.Join(missing, ", "), c.k8s)
	}
	if len(c.opts.Images) == 0 {
		return errors.New("no images in bin/images; build them with: make images")
	}
	return nil
}

// deleteWorkloads deletes every workload controller and pod and waits (bounded) for the
// pods to be gone, so that the kubelet stops their sandboxes through the CNI plugins. It
// repeats the deletion: an operator still shutting down may re-create what it owns.
func (c *Cluster) deleteWorkloads(ctx context.Context) {
	if len(c.procs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	err := waitFor(ctx, nil, 80*time.Second, "all pods gone", func() error {
		_ = c.Kubectl(ctx, nil, "delete", "deployments,replicasets,statefulsets,daemonsets,jobs", "--all", "-A", "--wait=false")
		_ = c.Kubectl(ctx, nil, "delete", "pods", "--all", "-A", "--wait=false", "--grace-period=3")
		var out strings.Builder
		if err := c.Kubectl(ctx, &out, "get", "pods", "-A", "--no-headers", "-o", "name"); err != nil {
			return err
		}
		if s := strings.TrimSpace(out.String()); s != "" {
			return fmt.Errorf("pods left: %s", strings.ReplaceAll(s, "\n", " "))
		}
		return nil
	})
	if err != nil {
		c.logf("warning: %v (their containers are killed below)", err)
	}
}

// cleanLeftovers removes whatever a cluster (this one after stopProcesses, or an earlier run
// that crashed) left on the machine. Every action is keyed to this cluster's own paths, PID
// files, interface names and chain names.
func (c *Cluster) cleanLeftovers(ctx context.Context) error {
	for _, name := range []string{"kube-proxy", "kubelet", "coredns", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"} {
		killPIDFile(c.path("run", name+".pid"), name)
	}
	if _, err := os.Stat(c.containerdSocket()); err == nil {
		c.killContainers(ctx)
	}
	killPIDFile(c.path("run", "containerd.pid"), "containerd")
	c.killShims()
	killPodProcesses()
	if _, err := os.Stat(c.path("kube-proxy.yaml")); err == nil {
		_ = run(ctx, filepath.Join(c.k8s, "kube-proxy"), "--cleanup", "--config="+c.path("kube-proxy.yaml"))
	}
	c.unmountUnder(c.dir)
	for _, link := range []string{Bridge, HostLink} {
		if _, err := os.Stat("/sys/class/net/" + link); err == nil {
			if err := run(ctx, "ip", "link", "del", link); err != nil {
				c.logf("warning: %v", err)
			}
		}
	}
	if run(ctx, "iptables", "-w", "-L", isolateChain, "-n") == nil {
		for run(ctx, "iptables", "-w", "-D", "FORWARD", "-j", isolateChain) == nil {
		}
		_ = run(ctx, "iptables", "-w", "-F", isolateChain)
		_ = run(ctx, "iptables", "-w", "-X", isolateChain)
	}
	c.removeCgroups()
	if was, err := os.ReadFile(c.path("ip_forward.orig")); err == nil {
		_ = os.WriteFile("/proc/sys/net/ipv4/ip_forward", was, 0o644)
	}
	// The kubelet's own canary and firewall chains (kube-proxy --cleanup leaves them).
	for _, table := range []string{"filter", "nat", "mangle"} {
		for _, rule := range [][]string{{"-D", "INPUT", "-j", "KUBE-FIREWALL"}, {"-D", "OUTPUT", "-j", "KUBE-FIREWALL"}} {
			_ = run(ctx, "iptables", append([]string{"-w", "-t", table}, rule...)...)
		}
		for _, chain := range []string{"KUBE-FIREWALL", "KUBE-KUBELET-CANARY", "KUBE-IPTABLES-HINT"} {
			if run(ctx, "iptables", "-w", "-t", table, "-F", chain) == nil {
				_ = run(ctx, "iptables", "-w", "-t", table, "-X", chain)
			}
		}
	}
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("removing %s: %w", c.dir, err)
	}
	return nil
}

// killContainers kills the tasks still running in this containerd (the kubelet normally
// stopped them already), deletes the containers and removes the network namespaces of their
// sandboxes (named in each container's spec), which also removes their veth interfaces.
func (c *Cluster) killContainers(ctx context.Context) {
	ctr := func(args ...string) ([]byte, error) {
		return exec.CommandContext(ctx, "ctr", append([]string{"--address", c.containerdSocket(), "-n", "k8s.io"}, args...)...).Output()
	}
	ids, err := ctr("containers", "ls", "-q")
	if err != nil {
		return
	}
	var netns []string
	for _, id := range strings.Fields(string(ids)) {
		if info, err := ctr("containers", "info", id); err == nil {
			var spec struct {
				Spec struct {
					Linux struct {
						Namespaces []struct{ Type, Path string } `json:"namespaces"`
					} `json:"linux"`
				} `json:"Spec"`
			}
			if json.Unmarshal(info, &spec) == nil {
				for _, ns := range spec.Spec.Linux.Namespaces {
					if ns.Type == "network" && strings.HasPrefix(ns.Path, "/var/run/netns/") {
						netns = append(netns, ns.Path)
					}
				}
			}
		}
		_, _ = ctr("tasks", "kill", "-s", "SIGKILL", id)
	}
	for _, id := range strings.Fields(string(ids)) {
		for range 20 {
			if _, err := ctr("tasks", "delete", id); err == nil {
				break
			} else if out, _ := ctr("tasks", "ls", "-q"); !strings.Contains(string(out), id) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		_, _ = ctr("containers", "delete", id)
	}
	for _, p := range netns {
		_ = syscall.Unmount(p, syscall.MNT_DETACH)
		_ = os.Remove(p)
	}
}

// killPodProcesses kills processes still in the kubelet's kubepods cgroups (pods of a
// cluster whose containerd died before stopping them). Only this cluster's kubelet creates
// kubepods cgroups on the machine.
func killPodProcesses() {
	if own, err := os.ReadFile("/proc/self/cgroup"); err != nil || strings.Contains(string(own), "/kubepods") {
		return // this machine is itself a pod of some other cluster: nothing here is ours to kill
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil || pid <= 1 || pid == os.Getpid() {
			continue
		}
		cg, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cgroup"))
		if err == nil && strings.Contains(string(cg), "/kubepods/") {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// killShims stops containerd-shim processes that belong to this cluster's containerd (their
// command line names its socket).
func (c *Cluster) killShims() {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), "containerd-shim") {
			continue
		}
		if !strings.Contains(string(cmdline), c.path("containerd")) {
			continue
		}
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err == nil && pid > 1 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// unmountUnder unmounts every mount point below dir, deepest first (the kubelet's bind mount
// of its root directory, Secret tmpfs volumes, containerd's rootfs and shm mounts).
func (c *Cluster) unmountUnder(dir string) {
	for range 3 { // a lazy unmount may reveal mounts stacked below
		f, err := os.Open("/proc/self/mountinfo")
		if err != nil {
			return
		}
		var points []string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
				points = append(points, fields[4])
			}
		}
		f.Close()
		if len(points) == 0 {
			return
		}
		sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
		for _, p := range points {
			if err := syscall.Unmount(p, 0); err != nil {
				_ = syscall.Unmount(p, syscall.MNT_DETACH)
			}
		}
	}
}

// removeCgroups removes the kubelet's (empty, now that the pods are gone) kubepods cgroups.
func (c *Cluster) removeCgroups() {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*/kubepods")
	if _, err := os.Stat("/sys/fs/cgroup/kubepods"); err == nil {
		roots = append(roots, "/sys/fs/cgroup/kubepods")
	}
	for _, root := range roots {
		var dirs []string
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			_ = syscall.Rmdir(dirs[i])
		}
	}
}
