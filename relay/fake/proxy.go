package fake

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Proxy is a loopback HTTP CONNECT proxy, the kind of egress proxy HTTPS_PROXY names. It
// records the targets it tunnelled to. Hosts maps target host names to addresses it
// really dials, so tests can use names a proxy-bypassing client could not reach.
type Proxy struct {
	ln    net.Listener
	Hosts map[string]string

	mu      sync.Mutex
	targets []string
	wg      sync.WaitGroup
}

// NewProxy starts a proxy on a free loopback port.
func NewProxy() (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, Hosts: map[string]string{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// URL is the proxy's URL, for HTTPS_PROXY.
func (p *Proxy) URL() *url.URL { return &url.URL{Scheme: "http", Host: p.ln.Addr().String()} }

// Targets lists the host:port of every CONNECT, in order.
func (p *Proxy) Targets() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.targets...)
}

// Close stops accepting; open tunnels end when either side closes.
func (p *Proxy) Close() {
	p.ln.Close()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.tunnel(c)
	}
}

func (p *Proxy) tunnel(c net.Conn) {
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		return
	}
	if req.Method != http.MethodConnect {
		_, _ = io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
		return
	}
	p.mu.Lock()
	p.targets = append(p.targets, req.Host)
	dial := req.Host
	if host, port, err := net.SplitHostPort(req.Host); err == nil && p.Hosts[host] != "" {
		dial = net.JoinHostPort(p.Hosts[host], port)
	}
	p.mu.Unlock()
	up, err := net.DialTimeout("tcp", dial, 5*time.Second)
	if err != nil {
		_, _ = io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	defer up.Close()
	_ = c.SetReadDeadline(time.Time{})
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection Established\r\n\r\n"); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, br); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
}
